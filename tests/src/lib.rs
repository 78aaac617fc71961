//! Code shared by the end-to-end tests (`tests/`) and the benchmark (`benches/`): the
//! reference queries the kept totals are checked against. The tests themselves live in
//! `tests/`.

pub mod reference;

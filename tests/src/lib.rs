//! Code shared by the end-to-end tests (`tests/`) and the benchmark (`benches/`): the recount
//! the tests check every rollup figure against ([`recount`], written from the contract's
//! counting rules alone), the README's examples as steps to run ([`readme`]), and the
//! per-table GROUP BY queries the benchmark times the kept totals against ([`reference`]).
//! The tests themselves live in `tests/`.

pub mod readme;
pub mod recount;
pub mod reference;

//! End-to-end tests of procura: one test binary (zero2prod style). Each test spawns the real
//! server on port 0 against its own database cloned from a migrated template; see `helpers`.
//!
//! Run: `cargo build --workspace --bins && cargo test --workspace` (the CLI tests drive the
//! `procura` binary of the same build). PostgreSQL: `PROCURA_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432`. Logs: `TEST_LOG=1`.

#![allow(clippy::unwrap_used)]

mod access;
mod cases;
mod cli;
mod cli_import;
mod cli_releases;
mod demo;
mod docs;
mod errors;
mod explain;
mod health;
mod helpers;
mod hostile;
mod idempotency;
mod measures;
mod operating;
mod paging;
mod readme;
mod regions;
mod releases;
mod restart;
mod rollup;
mod sdmx;
mod server_config;
mod startup;
mod totals;

//! The fault suite: procura against a PostgreSQL cluster of each test's own (initdb into a
//! temporary folder, its own port), which the tests stop, freeze and restart, and servers
//! they overload and signal. Each test is one row of "what an operator does to it" with the
//! status code a caller must get and what must be stored afterwards.
//!
//! The tests run one at a time (they time what they provoke, on a machine of two cores).
//! Needs the PostgreSQL binaries (see `cluster`) and, for the tests that run them, the
//! binaries of this build: `cargo build --workspace --bins && cargo test --workspace`.
//! Logs: `TEST_LOG=1`.

#![allow(clippy::unwrap_used)]

#[path = "../api/helpers/assertions.rs"]
#[allow(dead_code)]
mod assertions;
#[path = "../api/helpers/clients.rs"]
#[allow(dead_code)]
mod clients;
mod cluster;
#[path = "../api/helpers/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;
#[path = "../api/helpers/locks.rs"]
mod locks;
#[path = "../api/helpers/logs.rs"]
mod logs;
mod server;

mod database;
mod overload;
mod several;
mod shutdown;
mod startup;
mod support;

/// Held by each test for its whole run: one test at a time.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}

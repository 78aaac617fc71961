//! The harness: every test spawns the real application (the same `Application::build` that
//! `main` uses) on port 0 against its own PostgreSQL database, cloned from a migrated template.
//!
//! - PostgreSQL: `PROCURA_TEST_DATABASE_URL` (server URL without a database name), default
//!   `postgres://postgres@127.0.0.1:5432`.
//! - Template: `procura_template_<hash of server/migrations>`, built once (per migration set,
//!   shared by test processes) by `procura_server::db::prepare_database` under a temporary name
//!   and renamed into place, so nobody ever sees a half-migrated template. It stays after the
//!   run, for the next one; templates of other migration sets that no test process has used
//!   for an hour are dropped (`database` says how a process marks and locks its template).
//! - Each test: `CREATE DATABASE procura_test_<pid>_<uuid> TEMPLATE procura_template_<hash>`,
//!   dropped when the `TestApp` is dropped (also when the test panics). Set
//!   `PROCURA_TEST_KEEP_DB=1` to keep them for inspection. Databases left by killed test
//!   processes are dropped by the next run.
//! - Logs: only with `TEST_LOG` set (then `RUST_LOG` filters, default `info`).
//!
//! Modules: `app` (spawn_app, TestApp and its restart, fresh_database for a server the test
//! starts itself), `database` (template and test databases, query_values to read a test
//! database with SQL), `fixtures` (valid records, periods, region rows), `calls` (gRPC
//! wrappers), `assertions` (AIP-193 errors), `figures` (rollup figures), `cli` (the `procura`
//! and `procura-server` binaries, and the words and rows of the CLI's output).

mod access;
mod app;
mod assertions;
mod calls;
mod cli;
mod clients;
mod database;
mod figures;
mod fixtures;
mod locks;
mod logs;

pub use access::*;
pub use app::*;
pub use assertions::*;
pub use calls::*;
pub use cli::*;
pub use clients::*;
pub use database::*;
pub use figures::*;
pub use fixtures::*;
pub use locks::*;

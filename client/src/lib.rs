//! `procura_client`: the library behind the `procura` command-line client, for the binary and
//! for code that reuses its parts (the end-to-end tests, the benchmark).
//!
//! - [`demo`]: the deterministic demo data set, its seeded generator ([`demo::rng`]), region
//!   picks ([`demo::regions`]), calendar ([`demo::calendar`]) and the tally of its figures
//!   ([`demo::tally`]).
//! - [`records`]: reading and writing cases as JSON lines and CSV.
//! - [`call`]: one call to the server with the retry policy.
//! - [`figures`]: the metric ids a rollup reports, in the order of `report.proto`.
//! - [`convert`]: command-line values to and from proto values (dates, regions, enums, amounts).
//! - [`credentials`]: the bearer token every call carries and where it is looked up
//!   (`--token`, `PROCURA_TOKEN`, the credentials file); [`connection`]: the interceptor that
//!   sends it (`authorization: Bearer ...`) and TLS for `https://` servers.
//! - [`commands`]: the subcommands and their shared [`commands::Context`], which opens the
//!   connection; [`output`], [`chart`] and [`error`] print, draw and describe what they return.

pub mod call;
pub mod chart;
pub mod commands;
pub mod connection;
pub mod convert;
pub mod credentials;
pub mod demo;
pub mod error;
pub mod figures;
pub mod output;
pub mod records;

//! procura-server: keeps the case records of administrative procuratorial supervision
//! (行政检察监督) and answers regional rollups of them over gRPC.
//!
//! A request travels `api` (validate, convert) -> `service` (transactions) -> `domain` (plain
//! rules) and `db` (Diesel on PostgreSQL) and back. `startup` wires the services, health and reflection together.

pub mod api;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod service;
pub mod startup;
pub mod telemetry;

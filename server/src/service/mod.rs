//! The service layer: what a request does, over the domain and the store. Owns transactions
//! and the kept totals; takes typed commands and returns domain results, never proto
//! messages.

pub mod explanations;
pub mod releases;
pub mod rollups;

//! Plain types and rules of the domain, free of I/O: region codes, resource names, dates and
//! periods, the figures of a rollup and their year-on-year change, the rules of text taken
//! from requests.

pub mod access;
pub mod date;
pub mod enums;
pub mod metric;
pub mod names;
pub mod period;
pub mod record;
pub mod region;
pub mod text;

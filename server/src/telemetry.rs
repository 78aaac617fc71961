//! Structured logs with tracing; `RUST_LOG` overrides the default filter.

use tracing_subscriber::{EnvFilter, fmt};

/// Installs the global subscriber, writing to stderr. Calling it again is harmless.
pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _ = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

//! Logs: JSON on Lambda (CloudWatch reads fields), readable text locally.
//! Log lines carry ids (address ids, mail ids), never an address, name or phone.

use tracing_subscriber::{EnvFilter, fmt};

/// Installs the global subscriber once; later calls are no-ops (tests, local).
pub fn init() {
    // The embedded emulator logs every refused request (a missing table at start) as a warning.
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,dynoxide=error"));
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let result = if on_lambda {
        fmt()
            .json()
            .with_env_filter(filter)
            .with_current_span(false)
            .with_ansi(false)
            .without_time()
            .try_init()
    } else {
        fmt().with_env_filter(filter).compact().try_init()
    };
    // Already installed: keep the first one.
    drop(result);
}

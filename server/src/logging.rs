//! Log output: `tracing` lines as text (`log-format human`) or one JSON object per
//! line (`log-format json`), to stderr or `logfile`.
//!
//! What is logged: one line per lifecycle step (start with the config file, memory
//! limit and addresses; signals; saves; shutdown), per connection error, per slow or
//! failed save and per refused client; never one per command (the slow log and
//! MONITOR are for that). Colour escape codes are written only when the output is a
//! terminal. The level follows `loglevel` (`SHOAL_LOG`, a `tracing` filter, wins when
//! set) and changes at once with CONFIG SET ([`set_level`]).

use std::io::IsTerminal;
use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, reload, EnvFilter, Registry};

use crate::config::Config;

/// Changes the installed subscriber's level.
type Reload = reload::Handle<EnvFilter, Registry>;

static RELOAD: OnceLock<Reload> = OnceLock::new();

/// Environment variable holding a `tracing` filter that overrides `loglevel`.
const LOG_ENV: &str = "SHOAL_LOG";

/// Installs the process's logger as `config` says. An `Err` says why the log file
/// could not be opened.
pub fn init(config: &Config) -> Result<(), String> {
    let from_env = std::env::var(LOG_ENV).ok();
    let filter = from_env
        .as_deref()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(config.tracing_filter()));
    let (filter, handle) = reload::Layer::new(filter);
    if from_env.is_none() {
        let _ = RELOAD.set(handle);
    }
    let json = config.log_format == "json";
    let registry = tracing_subscriber::registry().with(filter);
    if config.logfile.is_empty() {
        let ansi = std::io::stderr().is_terminal();
        if json {
            registry
                .with(fmt::layer().json().with_writer(std::io::stderr))
                .init();
        } else {
            registry
                .with(
                    fmt::layer()
                        .with_target(false)
                        .with_ansi(ansi)
                        .with_writer(std::io::stderr),
                )
                .init();
        }
        return Ok(());
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&config.logfile)
        .map_err(|e| format!("cannot open logfile '{}': {e}", config.logfile))?;
    let writer = std::sync::Mutex::new(file);
    if json {
        registry
            .with(fmt::layer().json().with_writer(writer))
            .init();
    } else {
        registry
            .with(
                fmt::layer()
                    .with_target(false)
                    .with_ansi(false)
                    .with_writer(writer),
            )
            .init();
    }
    Ok(())
}

/// Sets the level of the installed logger (a `tracing` directive such as `"debug"`);
/// nothing when no logger of ours is installed (tests, embedders) or `SHOAL_LOG`
/// decides.
pub fn set_level(directive: &str) {
    if let Some(handle) = RELOAD.get() {
        let _ = handle.modify(|f| *f = EnvFilter::new(directive));
    }
}

//! The `shoal` binary: parse the configuration, set up logging, run the server until
//! SHUTDOWN or SIGTERM/SIGINT.

use shoal_server::config::Config;
use shoal_server::Server;

fn main() {
    let config = match Config::load_from_args(std::env::args_os()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("shoal: {e}");
            std::process::exit(1);
        }
    };
    let mut config = config;
    shoal_server::memory::apply_cgroup_default(&mut config);
    init_logging(&config);
    if config.maxmemory_from_cgroup {
        tracing::info!(
            maxmemory = config.maxmemory,
            "maxmemory not set: {}% of the cgroup's memory limit",
            shoal_server::memory::CGROUP_SHARE_PERCENT
        );
    }
    let logs_to_file = !config.logfile.is_empty();
    let server = match Server::start_with(config, true) {
        Ok(s) => s,
        Err(e) => {
            // One line on stderr; the log file (if any) gets it too.
            if logs_to_file {
                tracing::error!("{e}");
            }
            eprintln!("shoal: {e}");
            std::process::exit(1);
        }
    };
    server.wait();
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("SHOAL_LOG")
        .unwrap_or_else(|_| EnvFilter::new(config.tracing_filter()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if config.logfile.is_empty() {
        builder.with_writer(std::io::stderr).init();
    } else {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&config.logfile)
        {
            Ok(file) => builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .init(),
            Err(e) => {
                eprintln!("shoal: cannot open logfile '{}': {e}", config.logfile);
                std::process::exit(1);
            }
        }
    }
}

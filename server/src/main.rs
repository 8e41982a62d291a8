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
    config.apply_cgroup_default();
    if let Err(e) = shoal_server::logging::init(&config) {
        eprintln!("shoal: {e}");
        std::process::exit(1);
    }
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

//! Shoal: a Redis-compatible key-value cache server.
//!
//! The binary (`main.rs`) is a thin shell over this library so that tests and
//! embedders can start and stop a real server in-process:
//!
//! ```no_run
//! use shoal_server::{config::Config, Server};
//!
//! let mut config = Config::default();
//! config.port = 0; // any free port
//! let server = Server::start(config).expect("start");
//! println!("listening on {}", server.addr());
//! server.shutdown();
//! ```
//!
//! Module map: [`server`] (lifecycle, shared state), [`connection`] (the read/execute/
//! write loop), [`command`] (the command table and dispatch), [`commands`] (one file
//! per command family), [`client`] (per-connection state and the client registry),
//! [`config`], [`error`] (Redis error texts), [`num`] (Redis number rules),
//! [`slowlog`].

pub mod client;
pub mod command;
pub mod commands;
pub mod config;
pub mod connection;
pub mod error;
pub mod num;
pub mod server;
pub mod slowlog;

pub use server::{Server, ServerHandle, Shared};

//! Shoal server library (being written).
pub mod config;

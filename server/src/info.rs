//! INFO sections (being written).

//! The domain: tag rules, image rules and query models as plain Rust, with no I/O and no HTTP.

pub mod image;
pub mod query;
pub mod tag;
pub mod time;

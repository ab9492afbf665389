//! The service: one method per operation, named after its operation id, below the HTTP handlers.

pub mod operation;

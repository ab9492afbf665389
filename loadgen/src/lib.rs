//! The benchmark's load generator (`ims-tags-load`): wrk cannot sign, so this sends the benchmark's request
//! shapes token-authenticated or AK/SK-signed (with the project's own signing crate, as the Huawei SDK signs),
//! over keep-alive HTTP/1.1 connections, for a fixed duration, and prints the line `scripts/bench` parses.

pub mod run;
pub mod shape;

pub use run::{LoadPlan, Outcome, Target, TargetError, run};
pub use shape::{Auth, IMAGE_PLACEHOLDER, RequestShape, SeededImages, ShapeError};

//! Integration tests: the real server on 127.0.0.1 with a fresh SQLite file, called through the generated
//! client wherever it can express the call, and through raw HTTP for malformed input and wire details.
//!
//! One test binary (one link step), one file per API family, a shared harness.

mod harness;

mod aksk;
mod authorization;
mod coverage;
mod crash;
mod errors;
mod fair;
mod front_door;
mod ims_v1;
mod ims_v2;
mod native_tags;
mod ops;
mod registry;
mod spec;

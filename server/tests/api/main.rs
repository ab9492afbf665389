//! Integration tests: the real server on 127.0.0.1 with a fresh database (SQLite, or PostgreSQL when
//! `IMS_TAGS_TEST_POSTGRES` names a cluster: see `harness`), called through the generated
//! client wherever it can express the call, and through raw HTTP for malformed input and wire details.
//!
//! One test binary (one link step), one file per API family, a shared harness.

mod harness;

mod aksk;
mod authorization;
mod coverage;
mod crash;
mod database_outage;
mod errors;
mod fair;
mod front_door;
mod ims_v1;
mod ims_v2;
mod native_tags;
mod registry;
mod replicas;
mod spec;
mod store_queries;

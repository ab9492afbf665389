//! Integration tests of what only ims-tags promises (its config, restarts, storage, the OpenAPI document it
//! emits): the real server on 127.0.0.1 with a fresh database (SQLite, or PostgreSQL when
//! `IMS_TAGS_TEST_POSTGRES` names a cluster: see `harness`), called through the generated client or raw HTTP.
//! The contract's cases live in `conformance/`, whose `cargo test` runs them against ims-tags.
//!
//! One test binary (one link step), a shared harness.

mod harness;

mod aksk;
mod coverage;
mod crash;
mod database_outage;
mod fair;
mod front_door;
mod glance_messages;
mod ims_v2;
mod ops;
mod registry;
mod replicas;
mod spec;
mod store_queries;

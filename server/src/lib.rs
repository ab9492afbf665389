//! ims-tags: a spec-first service for the Huawei Cloud IMS image-tag APIs and the OpenStack Glance native tag
//! endpoints.
//!
//! A request goes: connection layer (`net`: connection cap, timeouts, hyper) -> `layers` (request id, metrics
//! and request log (`ops`), trace, `host` check, timeout, `body` guard) -> authentication (`auth`) -> router
//! (`app`) -> a handler (`api`: extract, authorise, one call) -> the service method of its operation
//! (`service`) -> the domain rules (`domain`) -> storage (`store`) -> back to the handler, which maps the
//! result to its wire type; failures become the one error envelope in `error`. The OpenAPI document (`spec`)
//! is built from the same routes; the probes and `/metrics` (`ops`) are served beside them. Start-up
//! (`server`): configuration -> store (by `database_url`) -> fair sharing -> service -> router.

pub mod api;
pub mod app;
pub mod auth;
pub mod body;
pub mod config;
pub mod domain;
pub mod error;
pub mod host;
pub mod layers;
pub mod net;
pub mod ops;
pub mod seed;
pub mod server;
pub mod service;
pub mod spec;
pub mod store;

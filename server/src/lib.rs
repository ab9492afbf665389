//! ims-tags: a spec-first service for the Huawei Cloud IMS image-tag APIs and the OpenStack Glance native tag
//! endpoints.
//!
//! A request goes: layers (request id, trace, body limit, timeout) -> authentication (`auth`) -> router
//! (`app`) -> a thin handler (`api`) -> the domain rules (`domain`) -> storage (`store`); failures become the
//! one error envelope in `error`. The OpenAPI document (`spec`) is built from the same routes.

pub mod api;
pub mod app;
pub mod auth;
pub mod config;
pub mod domain;
pub mod error;
pub mod seed;
pub mod server;
pub mod spec;
pub mod store;

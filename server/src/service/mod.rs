//! The service: one method per operation, named after its operation id, between the HTTP handlers (`api`)
//! and the store.
//!
//! A method takes the caller authorised for its operation ([`operation::Authorized`]) and the request's input
//! as plain Rust; it applies the operation's rules (tag rules, batch rules, query limits, image-creation
//! rules, ownership), runs it against the store and returns domain values, which the handler maps to its wire
//! types. It knows no HTTP (no axum, no status codes) and no SQL. Its failures are `ApiError`s, whose status
//! and code only `error.rs` picks. Each method validates its input before it reads the store, so the check
//! order stays: 400 (the request), then 404 (the image), 403 (not its owner), then 404 (the tag) or the quota.
//!
//! The methods live with their family: [`tags`] (the native, IMS v1 and IMS v2 tag operations) and [`images`]
//! (the image registry).

use std::sync::Arc;

use uuid::Uuid;

use crate::domain::query::QueryLimits;
use crate::domain::tag::{TagChange, TagLimits};
use crate::error::ApiError;
use crate::store::Store;

pub mod images;
pub mod operation;
pub mod tags;

/// The service: the store and the configured limits.
pub struct Service {
    store: Arc<dyn Store>,
    limits: TagLimits,
    query_limits: QueryLimits,
}

impl Service {
    /// A service over a store (already wrapped in fair sharing), with the tag and query limits of the
    /// configuration.
    pub fn new(store: Arc<dyn Store>, limits: TagLimits, query_limits: QueryLimits) -> Service {
        Service { store, limits, query_limits }
    }

    /// The store, for the readiness probe.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The query limits, which the list operations' parameter parsers apply.
    pub fn query_limits(&self) -> &QueryLimits {
        &self.query_limits
    }

    /// Applies a tag change to an image of `project`, within the tag quota.
    async fn change_tags(&self, project: &str, image: &str, change: TagChange) -> Result<(), ApiError> {
        let id = image_id(image)?;
        Ok(self.store.change_tags(id, project, change, self.limits.tags_per_image).await?)
    }
}

/// Reads an image id; anything that is not a UUID names no image (404).
fn image_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::ImageNotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_ids_that_are_not_uuids_are_not_found() {
        assert!(matches!(image_id("abcd"), Err(ApiError::ImageNotFound)));
        assert!(image_id("4d2c0b0e-1111-2222-3333-444455556666").is_ok());
    }
}

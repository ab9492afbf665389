//! The HTTP API, one module per family. Handlers are thin: authorise the caller, parse, call the domain and
//! the store, shape the response. Their `utoipa` annotations are the OpenAPI document.

use std::ops::Deref;
use std::sync::Arc;

use crate::auth::identity::Caller;
use crate::domain::query::QueryLimits;
use crate::domain::tag::{TagChange, TagLimits};
use crate::error::ApiError;
use crate::store::Store;

pub mod discovery;
pub mod documented;
pub mod extract;
pub mod ims_v1;
pub mod ims_v2;
pub mod native_tags;
pub mod registry;

/// OpenAPI tag of the Glance native tag operations.
pub const NATIVE_TAGS: &str = "native-tags";
/// OpenAPI tag of the IMS v1 tag operations.
pub const IMS_V1_TAGS: &str = "ims-v1-tags";
/// OpenAPI tag of the IMS v2 tag operations.
pub const IMS_V2_TAGS: &str = "ims-v2-tags";
/// OpenAPI tag of the image registry.
pub const IMAGES: &str = "images";
/// OpenAPI tag of version discovery and schemas.
pub const DISCOVERY: &str = "discovery";

/// What handlers share: the store and the limits.
pub struct App {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Tag limits.
    pub limits: TagLimits,
    /// Op 5 limits.
    pub query_limits: QueryLimits,
}

impl App {
    /// Applies a tag change to an image of the caller's project, within the configured quota.
    pub async fn change_tags(&self, caller: &Caller, image: &str, change: TagChange) -> Result<(), ApiError> {
        let id = extract::image_id(image)?;
        Ok(self.store.change_tags(id, &caller.project, change, self.limits.tags_per_image).await?)
    }
}

/// The router state: a cheap handle on `App`.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

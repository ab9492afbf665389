//! The HTTP API, one module per family. A handler extracts its input, authorises the caller for its operation
//! (`Caller::authorize`) before it reads its parameters or body, makes one call to the service (the method
//! named after its operation id) and maps the result to its wire types. Its `utoipa` annotations are the
//! OpenAPI document.

use std::sync::Arc;

use crate::service::Service;

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

/// The router's state: the service every handler calls.
pub type AppState = Arc<Service>;

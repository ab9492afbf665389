//! The image list of `glance_list_images`: the filter, the order (a sort key, ties broken by id) and the page
//! (keyset, after a marker).

use uuid::Uuid;

use super::image_filter::ImageFilter;
use super::{InvalidQuery, invalid};

/// What `GET /v2/images` sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// Name.
    Name,
    /// Status.
    Status,
    /// Container format.
    ContainerFormat,
    /// Disk format.
    DiskFormat,
    /// Size.
    Size,
    /// Id.
    Id,
    /// Creation time (the default).
    CreatedAt,
    /// Last change.
    UpdatedAt,
}

/// The sort keys `GET /v2/images` accepts.
pub const SORT_KEYS: &[&str] =
    &["name", "status", "container_format", "disk_format", "size", "id", "created_at", "updated_at"];

impl SortKey {
    /// Reads `sort_key`.
    pub fn parse(text: &str) -> Result<SortKey, InvalidQuery> {
        Ok(match text {
            "name" => SortKey::Name,
            "status" => SortKey::Status,
            "container_format" => SortKey::ContainerFormat,
            "disk_format" => SortKey::DiskFormat,
            "size" => SortKey::Size,
            "id" => SortKey::Id,
            "created_at" => SortKey::CreatedAt,
            "updated_at" => SortKey::UpdatedAt,
            other => {
                return Err(invalid(format!(
                    "'sort_key' must be one of {}; got {other:?}.",
                    SORT_KEYS.join(", ")
                )));
            }
        })
    }
}

/// The `GET /v2/images` query: filter, order and page (keyset, after `marker`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageListQuery {
    /// Conditions.
    pub filter: ImageFilter,
    /// Sort key; ties are broken by id in the same direction.
    pub sort_key: SortKey,
    /// Ascending when true.
    pub ascending: bool,
    /// Page size.
    pub limit: u64,
    /// Return images after this one.
    pub marker: Option<Uuid>,
}

/// Default page size of `GET /v2/images`.
pub const LIST_DEFAULT_LIMIT: u64 = 25;
/// Largest page of `GET /v2/images`.
pub const LIST_MAX_LIMIT: u64 = 1000;

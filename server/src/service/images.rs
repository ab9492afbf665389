//! The image registry: create, show, list and delete images, and the data upload this service does not
//! implement.

use std::collections::BTreeMap;
use std::convert::Infallible;

use uuid::Uuid;

use super::operation::{Authorized, Operation};
use super::{Service, image_id};
use crate::domain::image::{
    Access, CONTAINER_FORMATS, DISK_FORMATS, Image, NAME_MAX_CHARS, NewImage, Status, Visibility,
    check_properties,
};
use crate::domain::query::image_list::ImageListQuery;
use crate::domain::tag::{TagLimits, tags_for_new_image};
use crate::error::ApiError;

/// An image as a client describes it to `glance_create_image`, before validation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageDraft {
    /// An id (a UUID); generated when absent.
    pub id: Option<String>,
    /// The name.
    pub name: Option<String>,
    /// The visibility; private when absent.
    pub visibility: Option<Visibility>,
    /// A container format.
    pub container_format: Option<String>,
    /// A disk format.
    pub disk_format: Option<String>,
    /// Minimum disk in GB.
    pub min_disk: Option<i64>,
    /// Minimum RAM in MB.
    pub min_ram: Option<i64>,
    /// Refuse deletion.
    pub protected: Option<bool>,
    /// Leave out of lists by default.
    pub os_hidden: Option<bool>,
    /// Tags in the string view.
    pub tags: Option<Vec<String>>,
    /// Extra properties, as JSON values (only strings are accepted).
    pub properties: BTreeMap<String, serde_json::Value>,
}

impl Service {
    /// `glance_create_image`: registers an image owned by the caller's project, in status `queued`, after the
    /// creation rules: a UUID id, a name within its length, non-negative minimums, string properties within
    /// their limits and not read-only, tags by the creation rule (two values for one key are refused, the set
    /// within the quota, 413 over it), and Glance's container and disk formats.
    pub async fn glance_create_image(
        &self,
        caller: &Authorized,
        draft: ImageDraft,
    ) -> Result<Image, ApiError> {
        let project = caller.project_for(Operation::GlanceCreateImage)?;
        let image = new_image(draft, project, &self.limits)?;
        Ok(self.store.create_image(image).await?)
    }

    /// `glance_show_image`: an image the project owns, or a public one.
    pub async fn glance_show_image(&self, caller: &Authorized, image: &str) -> Result<Image, ApiError> {
        let project = caller.project_for(Operation::GlanceShowImage)?;
        Ok(self.store.image(image_id(image)?, project).await?)
    }

    /// `glance_delete_image`: deletes an image the project owns, with its tags; a protected one is refused.
    pub async fn glance_delete_image(&self, caller: &Authorized, image: &str) -> Result<(), ApiError> {
        let project = caller.project_for(Operation::GlanceDeleteImage)?;
        Ok(self.store.delete_image(image_id(image)?, project).await?)
    }

    /// `glance_list_images`: one page of the images the project can see that pass the query's filter, in its
    /// order, after its marker.
    pub async fn glance_list_images(
        &self,
        caller: &Authorized,
        query: &ImageListQuery,
    ) -> Result<Vec<Image>, ApiError> {
        let project = caller.project_for(Operation::GlanceListImages)?;
        Ok(self.store.list_images(project, query).await?)
    }

    /// `glance_upload_image_data`: never succeeds. Image data is out of scope: the image's owner is answered
    /// 501, after the usual 404 (an image it cannot see) and 403 (one it can see but does not own).
    pub async fn glance_upload_image_data(
        &self,
        caller: &Authorized,
        image: &str,
    ) -> Result<Infallible, ApiError> {
        let project = caller.project_for(Operation::GlanceUploadImageData)?;
        let image = self.store.image(image_id(image)?, project).await?;
        if Access::of(&image.owner, image.visibility, project) != Access::Owner {
            return Err(ApiError::Forbidden(
                "The image belongs to another project; only its owner may change it.".into(),
            ));
        }
        Err(ApiError::NotImplemented("Image data upload is not implemented by this service.".into()))
    }
}

fn check_format(field: &str, value: Option<String>, allowed: &[&str]) -> Result<Option<String>, ApiError> {
    match value {
        Some(v) if !allowed.contains(&v.as_str()) => {
            Err(ApiError::BadRequest(format!("'{field}' must be one of {}; got {v:?}.", allowed.join(", "))))
        }
        other => Ok(other),
    }
}

/// Applies the creation rules to a draft, in the order its errors are reported.
fn new_image(draft: ImageDraft, project: &str, limits: &TagLimits) -> Result<NewImage, ApiError> {
    let id = match draft.id {
        None => Uuid::new_v4(),
        Some(text) => Uuid::parse_str(&text)
            .map_err(|_| ApiError::BadRequest(format!("'id' must be a UUID; got {text:?}.")))?,
    };
    if draft.name.as_ref().is_some_and(|n| n.chars().count() > NAME_MAX_CHARS) {
        return Err(ApiError::BadRequest(format!(
            "'name' must be at most {NAME_MAX_CHARS} characters long."
        )));
    }
    for (field, value) in [("min_disk", draft.min_disk), ("min_ram", draft.min_ram)] {
        if value.is_some_and(|v| v < 0) {
            return Err(ApiError::BadRequest(format!("'{field}' must not be negative.")));
        }
    }
    let mut properties = BTreeMap::new();
    for (name, value) in draft.properties {
        let serde_json::Value::String(value) = value else {
            return Err(ApiError::BadRequest(format!("The property {name:?} must be a string.")));
        };
        properties.insert(name, value);
    }
    check_properties(&properties).map_err(ApiError::BadRequest)?;
    let tags = tags_for_new_image(&draft.tags.unwrap_or_default(), limits)?;
    Ok(NewImage {
        id,
        name: draft.name,
        status: Status::Queued,
        visibility: draft.visibility.unwrap_or(Visibility::Private),
        owner: project.to_owned(),
        protected: draft.protected.unwrap_or(false),
        os_hidden: draft.os_hidden.unwrap_or(false),
        container_format: check_format("container_format", draft.container_format, CONTAINER_FORMATS)?,
        disk_format: check_format("disk_format", draft.disk_format, DISK_FORMATS)?,
        min_disk: draft.min_disk.unwrap_or(0),
        min_ram: draft.min_ram.unwrap_or(0),
        tags,
        properties,
    })
}

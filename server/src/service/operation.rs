//! The operations and the IAM actions each one needs: the one permission table. A handler turns its `Caller`
//! into an [`Authorized`] caller for its operation before it reads its parameters or body, and the service's
//! method for that operation takes nothing else, so the check order stays structural: 401 (no credentials),
//! 403 (a project out of scope: the `Caller` extractor), 403 (a missing permission: here), then the request's
//! own 400s, 404s and 403s.

use crate::auth::identity::{Action, Caller};
use crate::error::ApiError;

/// An operation of the API that needs credentials, named after its operation id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `glance_create_tag`: add a native tag.
    GlanceCreateTag,
    /// `glance_delete_tag`: delete a native tag.
    GlanceDeleteTag,
    /// `create_or_update_tags`: set one tag (IMS v1).
    CreateOrUpdateTags,
    /// `list_tags`: the tag strings of the images the project can see (IMS v1).
    ListTags,
    /// `list_image_by_tags`: query the project's images by tag.
    ListImageByTags,
    /// `batch_add_or_delete_tags`: set or delete tags in a batch.
    BatchAddOrDeleteTags,
    /// `add_image_tag`: set one tag.
    AddImageTag,
    /// `delete_image_tag`: delete one key.
    DeleteImageTag,
    /// `list_image_tags`: the tags of an image.
    ListImageTags,
    /// `list_images_tags`: every key of the project's images with its values.
    ListImagesTags,
    /// `glance_create_image`: register an image.
    GlanceCreateImage,
    /// `glance_show_image`: show an image.
    GlanceShowImage,
    /// `glance_delete_image`: delete an image.
    GlanceDeleteImage,
    /// `glance_list_images`: list images.
    GlanceListImages,
    /// `glance_upload_image_data`: upload image data (not implemented).
    GlanceUploadImageData,
}

use Action::{Create, Delete, Get, List, Update};

impl Operation {
    /// Every operation that needs credentials.
    pub const ALL: &'static [Operation] = &[
        Operation::GlanceCreateTag,
        Operation::GlanceDeleteTag,
        Operation::CreateOrUpdateTags,
        Operation::ListTags,
        Operation::ListImageByTags,
        Operation::BatchAddOrDeleteTags,
        Operation::AddImageTag,
        Operation::DeleteImageTag,
        Operation::ListImageTags,
        Operation::ListImagesTags,
        Operation::GlanceCreateImage,
        Operation::GlanceShowImage,
        Operation::GlanceDeleteImage,
        Operation::GlanceListImages,
        Operation::GlanceUploadImageData,
    ];

    /// The operation id in the OpenAPI document.
    pub fn id(self) -> &'static str {
        match self {
            Operation::GlanceCreateTag => "glance_create_tag",
            Operation::GlanceDeleteTag => "glance_delete_tag",
            Operation::CreateOrUpdateTags => "create_or_update_tags",
            Operation::ListTags => "list_tags",
            Operation::ListImageByTags => "list_image_by_tags",
            Operation::BatchAddOrDeleteTags => "batch_add_or_delete_tags",
            Operation::AddImageTag => "add_image_tag",
            Operation::DeleteImageTag => "delete_image_tag",
            Operation::ListImageTags => "list_image_tags",
            Operation::ListImagesTags => "list_images_tags",
            Operation::GlanceCreateImage => "glance_create_image",
            Operation::GlanceShowImage => "glance_show_image",
            Operation::GlanceDeleteImage => "glance_delete_image",
            Operation::GlanceListImages => "glance_list_images",
            Operation::GlanceUploadImageData => "glance_upload_image_data",
        }
    }

    /// The IAM actions the caller needs, checked in this order (the first missing one is named in the 403):
    /// the native tag operations and IMS v1's write read and change the image (`get`, `update`), the other
    /// tag writes change it (`update`), reads list (`list`), and each registry operation needs its own action.
    pub fn actions(self) -> &'static [Action] {
        match self {
            Operation::GlanceCreateTag | Operation::GlanceDeleteTag | Operation::CreateOrUpdateTags => {
                &[Get, Update]
            }
            Operation::BatchAddOrDeleteTags | Operation::AddImageTag | Operation::DeleteImageTag => &[Update],
            Operation::ListTags
            | Operation::ListImageByTags
            | Operation::ListImageTags
            | Operation::ListImagesTags
            | Operation::GlanceListImages => &[List],
            Operation::GlanceCreateImage => &[Create],
            Operation::GlanceShowImage => &[Get],
            Operation::GlanceDeleteImage => &[Delete],
            Operation::GlanceUploadImageData => &[Update],
        }
    }
}

/// A caller allowed to run one operation, in the project it acts in. Only [`Caller::authorize`] makes one.
#[derive(Clone, Debug)]
pub struct Authorized {
    operation: Operation,
    project: String,
}

impl Authorized {
    /// The project to act in, for the service's method of `operation`. A caller authorised for another
    /// operation is a handler's mistake, answered 500 rather than run with the wrong permissions.
    pub fn project_for(&self, operation: Operation) -> Result<&str, ApiError> {
        if self.operation == operation {
            Ok(&self.project)
        } else {
            Err(ApiError::internal(format!(
                "a caller authorised for {} was passed to {}",
                self.operation.id(),
                operation.id()
            )))
        }
    }
}

impl Caller {
    /// Authorises the caller for `operation`: refused (403 `IMG.0026`, naming the first missing action) unless
    /// its grant holds every IAM action the operation needs.
    pub fn authorize(self, operation: Operation) -> Result<Authorized, ApiError> {
        self.require(operation.actions())?;
        Ok(Authorized { operation, project: self.project })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use super::*;
    use crate::auth::identity::Principal;
    use crate::config::Grant;

    fn caller(actions: &[&str]) -> Caller {
        let grant = Grant {
            default_project: "p".into(),
            projects: Vec::new(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
        };
        Caller { principal: Arc::new(Principal { name: "t".into(), grant }), project: "p".into() }
    }

    /// The table names every operation of the document that needs credentials, and nothing else.
    #[test]
    fn every_secured_operation_of_the_document_is_in_the_table() {
        let doc = serde_json::to_value(crate::app::openapi()).expect("the document serialises");
        let mut secured = BTreeSet::new();
        for methods in doc["paths"].as_object().expect("paths").values() {
            for operation in methods.as_object().expect("methods").values() {
                if operation.get("security").is_some_and(|s| s.as_array().is_some_and(|s| !s.is_empty())) {
                    secured.insert(operation["operationId"].as_str().expect("an id").to_owned());
                }
            }
        }
        let table: BTreeSet<String> = Operation::ALL.iter().map(|o| o.id().to_owned()).collect();
        assert_eq!(table, secured);
    }

    #[test]
    fn authorisation_needs_every_action_and_holds_for_its_operation_only() {
        let refused = caller(&["ims:images:get"]).authorize(Operation::GlanceCreateTag).err();
        assert!(
            matches!(&refused, Some(ApiError::Forbidden(m)) if m.contains("ims:images:update")),
            "{refused:?}"
        );
        let allowed = caller(&["ims:images:*"]).authorize(Operation::AddImageTag).expect("allowed");
        assert_eq!(allowed.project_for(Operation::AddImageTag).ok(), Some("p"));
        assert!(matches!(allowed.project_for(Operation::DeleteImageTag), Err(ApiError::Internal(_))));
    }
}

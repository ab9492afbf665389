//! The tag operations: the Glance native pair, IMS v1's write and list, and IMS v2's per-image, batch,
//! per-project and query operations.

use std::collections::BTreeMap;

use super::operation::{Authorized, Operation};
use super::{Service, image_id};
use crate::domain::query::image_filter::{ImageFilter, StringPage};
use crate::domain::query::tag_query::{Page, RawTagQuery, TagQuery};
use crate::domain::tag::{Tag, TagChange};
use crate::error::ApiError;
use crate::store::TaggedImage;

/// A batch of tag changes, as `batch_add_or_delete_tags` receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagBatch {
    /// Set every tag, all or nothing; each entry needs a value.
    Create(Vec<BatchEntry>),
    /// Delete every key, ignoring the keys the image does not have; values are not compared.
    Delete(Vec<BatchEntry>),
}

/// One entry of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchEntry {
    /// The key.
    pub key: String,
    /// The value: required to create, optional to delete.
    pub value: Option<String>,
}

/// The page `list_image_by_tags` is asked for (its `filter` action), before validation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawPage {
    /// `limit`, as a decimal string.
    pub limit: Option<String>,
    /// `offset`, as a decimal string.
    pub offset: Option<String>,
}

/// What `list_image_by_tags` finds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagQueryAnswer {
    /// Images matching the query in all.
    pub total_count: u64,
    /// The page, when one was asked for: newest first (`created_at` descending, then id).
    pub images: Option<Vec<TaggedImage>>,
}

impl Service {
    /// `glance_create_tag`: adds the native tag `tag` to the image as a key with an empty value. The tag
    /// follows the native rules (1-255 characters, no `=`, no control characters or surrounding whitespace);
    /// over the quota is 413, as on the other Glance paths.
    pub async fn glance_create_tag(
        &self,
        caller: &Authorized,
        image: &str,
        tag: String,
    ) -> Result<(), ApiError> {
        let project = caller.project_for(Operation::GlanceCreateTag)?;
        self.limits.check_native_tag(&tag)?;
        let change = TagChange::Upsert(vec![Tag::new(tag, "")]);
        self.change_tags(project, image, change).await.map_err(ApiError::quota_as_413)
    }

    /// `glance_delete_tag`: deletes the tag named in the string view (`k`: the key whatever its value; `k=v`:
    /// the key only with that value). Any characters are accepted, up to the lookup length.
    pub async fn glance_delete_tag(
        &self,
        caller: &Authorized,
        image: &str,
        tag: &str,
    ) -> Result<(), ApiError> {
        let project = caller.project_for(Operation::GlanceDeleteTag)?;
        let tag = Tag::from_string_view(tag);
        self.limits.check_lookup("tag key", &tag.key)?;
        self.limits.check_lookup("tag value", &tag.value)?;
        self.change_tags(project, image, TagChange::DeleteMatching(tag)).await
    }

    /// `create_or_update_tags`: sets one tag, which follows the IMS rules.
    pub async fn create_or_update_tags(
        &self,
        caller: &Authorized,
        image: &str,
        tag: Tag,
    ) -> Result<(), ApiError> {
        let project = caller.project_for(Operation::CreateOrUpdateTags)?;
        self.limits.check_ims_tag(&tag)?;
        self.change_tags(project, image, TagChange::Upsert(vec![tag])).await
    }

    /// `add_image_tag`: sets one tag, which follows the IMS rules.
    pub async fn add_image_tag(&self, caller: &Authorized, image: &str, tag: Tag) -> Result<(), ApiError> {
        let project = caller.project_for(Operation::AddImageTag)?;
        self.limits.check_ims_tag(&tag)?;
        self.change_tags(project, image, TagChange::Upsert(vec![tag])).await
    }

    /// `batch_add_or_delete_tags`: the batch is not empty and its keys are unique; to create, every entry has
    /// a value and follows the IMS rules; to delete, keys and values are within the lookup length. Then every
    /// tag is set (all or nothing) or every key deleted.
    pub async fn batch_add_or_delete_tags(
        &self,
        caller: &Authorized,
        image: &str,
        batch: TagBatch,
    ) -> Result<(), ApiError> {
        let project = caller.project_for(Operation::BatchAddOrDeleteTags)?;
        let entries = match &batch {
            TagBatch::Create(entries) | TagBatch::Delete(entries) => entries,
        };
        if entries.is_empty() {
            return Err(ApiError::InvalidTag("'tags' must not be empty.".into()));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(repeated) = entries.iter().find(|t| !seen.insert(t.key.as_str())) {
            return Err(ApiError::InvalidTag(format!("The key {:?} appears twice in 'tags'.", repeated.key)));
        }
        let change = match batch {
            TagBatch::Create(entries) => {
                let tags = entries
                    .into_iter()
                    .map(|t| {
                        let value = t.value.ok_or_else(|| {
                            ApiError::InvalidTag(format!(
                                "The tag {:?} has no 'value'; 'create' needs one.",
                                t.key
                            ))
                        })?;
                        let tag = Tag::new(t.key, value);
                        self.limits.check_ims_tag(&tag)?;
                        Ok(tag)
                    })
                    .collect::<Result<Vec<_>, ApiError>>()?;
                TagChange::Upsert(tags)
            }
            TagBatch::Delete(entries) => {
                for t in &entries {
                    self.limits.check_lookup("tag key", &t.key)?;
                    self.limits.check_lookup("tag value", t.value.as_deref().unwrap_or(""))?;
                }
                TagChange::DeleteKeys(entries.into_iter().map(|t| t.key).collect())
            }
        };
        self.change_tags(project, image, change).await
    }

    /// `delete_image_tag`: deletes one key (any characters, up to the lookup length).
    pub async fn delete_image_tag(
        &self,
        caller: &Authorized,
        image: &str,
        key: String,
    ) -> Result<(), ApiError> {
        let project = caller.project_for(Operation::DeleteImageTag)?;
        self.limits.check_lookup("tag key", &key)?;
        self.change_tags(project, image, TagChange::DeleteKey(key)).await
    }

    /// `list_image_tags`: the tags of an image the project can see, sorted by `(key, value)`.
    pub async fn list_image_tags(&self, caller: &Authorized, image: &str) -> Result<Vec<Tag>, ApiError> {
        let project = caller.project_for(Operation::ListImageTags)?;
        Ok(self.store.image_tags(image_id(image)?, project).await?)
    }

    /// `list_images_tags`: every key used on the project's images with its distinct values (a key-only tag
    /// contributes `""`), keys sorted, values sorted.
    pub async fn list_images_tags(
        &self,
        caller: &Authorized,
    ) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
        let project = caller.project_for(Operation::ListImagesTags)?;
        let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for tag in self.store.project_tags(project).await? {
            grouped.entry(tag.key).or_default().push(tag.value);
        }
        Ok(grouped)
    }

    /// `list_tags`: the distinct tags, as strings sorted by their bytes, of the images the project can see
    /// that pass the filter; one page of them when a page is given.
    pub async fn list_tags(
        &self,
        caller: &Authorized,
        filter: &ImageFilter,
        page: Option<StringPage>,
    ) -> Result<Vec<String>, ApiError> {
        let project = caller.project_for(Operation::ListTags)?;
        let tags = self.store.filtered_tags(project, filter).await?;
        let mut strings: Vec<String> = tags.iter().map(Tag::to_string_view).collect();
        strings.sort_unstable();
        strings.dedup();
        Ok(match page {
            Some(page) => page.apply(strings),
            None => strings,
        })
    }

    /// `list_image_by_tags`: validates the query (then the page, when one is asked for) against the query
    /// limits and selects the project's images: the total, and the page.
    pub async fn list_image_by_tags(
        &self,
        caller: &Authorized,
        query: RawTagQuery,
        page: Option<RawPage>,
    ) -> Result<TagQueryAnswer, ApiError> {
        let project = caller.project_for(Operation::ListImageByTags)?;
        let query = TagQuery::parse(query, &self.limits, &self.query_limits)?;
        let page = page
            .map(|raw| Page::parse(raw.limit.as_deref(), raw.offset.as_deref(), &self.query_limits))
            .transpose()?;
        let (total_count, images) = self.store.query_images(project, &query, page).await?;
        Ok(TagQueryAnswer { total_count, images: page.map(|_| images) })
    }
}

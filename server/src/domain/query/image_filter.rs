//! The image filter: conditions on image attributes, extra properties and tags that every selected image
//! meets (`list_tags` and `glance_list_images`), the words its parameters are written in, and the page of
//! `list_tags`' tag strings.

use super::{InvalidQuery, invalid};
use crate::domain::image::{Access, Image, Visibility};
use crate::domain::tag::Tag;

/// A comparison in a time filter (`created_at=gt:...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeOp {
    /// Later than.
    Gt,
    /// At or later than.
    Gte,
    /// Earlier than.
    Lt,
    /// At or earlier than.
    Lte,
    /// Equal.
    Eq,
    /// Not equal.
    Neq,
}

impl TimeOp {
    fn holds(self, left: i64, right: i64) -> bool {
        match self {
            TimeOp::Gt => left > right,
            TimeOp::Gte => left >= right,
            TimeOp::Lt => left < right,
            TimeOp::Lte => left <= right,
            TimeOp::Eq => left == right,
            TimeOp::Neq => left != right,
        }
    }
}

/// A time filter: the attribute compared with a Unix time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeCondition {
    /// The comparison.
    pub op: TimeOp,
    /// Unix seconds.
    pub at: i64,
}

impl TimeCondition {
    /// Parses `op:time`, op in gt, gte, lt, lte, eq, neq; time `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DD HH:MM:SS`.
    pub fn parse(field: &str, text: &str) -> Result<TimeCondition, InvalidQuery> {
        let bad = || {
            invalid(format!(
                "'{field}' must be op:time with op one of gt, gte, lt, lte, eq, neq and time \
                 YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD HH:MM:SS; got {text:?}."
            ))
        };
        let (op, time) = text.split_once(':').ok_or_else(bad)?;
        let op = match op {
            "gt" => TimeOp::Gt,
            "gte" => TimeOp::Gte,
            "lt" => TimeOp::Lt,
            "lte" => TimeOp::Lte,
            "eq" => TimeOp::Eq,
            "neq" => TimeOp::Neq,
            _ => return Err(bad()),
        };
        let at = crate::domain::time::parse(time).ok_or_else(bad)?;
        Ok(TimeCondition { op, at })
    }

    /// Whether a time satisfies the condition.
    pub fn matches(&self, time: i64) -> bool {
        self.op.holds(time, self.at)
    }
}

/// `__imagetype`: which images by ownership.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageType {
    /// `gold`: public images.
    Gold,
    /// `private`: images the project owns.
    Private,
    /// `shared` and `market`: none exist here (there is no member API and no marketplace).
    None,
}

impl ImageType {
    /// Reads `__imagetype`: `gold`, `private`, `shared` or `market`.
    pub fn parse(text: &str) -> Result<ImageType, InvalidQuery> {
        match text {
            "gold" => Ok(ImageType::Gold),
            "private" => Ok(ImageType::Private),
            "shared" | "market" => Ok(ImageType::None),
            other => {
                Err(invalid(format!("'__imagetype' must be gold, private, shared or market; got {other:?}.")))
            }
        }
    }
}

/// Filters on image attributes, shared by `list_tags` and `glance_list_images`. Every condition must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageFilter {
    /// Exact id.
    pub id: Option<String>,
    /// Exact name.
    pub name: Option<String>,
    /// Exact status (any text; unknown statuses match nothing).
    pub status: Option<String>,
    /// Exact visibility.
    pub visibility: Option<Visibility>,
    /// Exact owner project.
    pub owner: Option<String>,
    /// Exact container format.
    pub container_format: Option<String>,
    /// Exact disk format.
    pub disk_format: Option<String>,
    /// Exact minimum disk.
    pub min_disk: Option<i64>,
    /// Exact minimum RAM.
    pub min_ram: Option<i64>,
    /// Protected flag.
    pub protected: Option<bool>,
    /// Hidden flag; `None` means any.
    pub os_hidden: Option<bool>,
    /// Ownership class.
    pub image_type: Option<ImageType>,
    /// `created_at` comparison.
    pub created_at: Option<TimeCondition>,
    /// `updated_at` comparison.
    pub updated_at: Option<TimeCondition>,
    /// Extra properties that must equal the given values.
    pub properties: Vec<(String, String)>,
    /// Tags (string view) the image must all hold.
    pub tags: Vec<Tag>,
}

impl ImageFilter {
    /// Whether an image passes every condition, for a caller in `project` (used by `__imagetype`).
    pub fn matches(&self, image: &Image, project: &str) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| want.as_deref().is_none_or(|w| have == Some(w));
        eq(&self.id, Some(&image.id.to_string()))
            && eq(&self.name, image.name.as_deref())
            && eq(&self.status, Some(image.status.as_str()))
            && self.visibility.is_none_or(|v| v == image.visibility)
            && eq(&self.owner, Some(&image.owner))
            && eq(&self.container_format, image.container_format.as_deref())
            && eq(&self.disk_format, image.disk_format.as_deref())
            && self.min_disk.is_none_or(|v| v == image.min_disk)
            && self.min_ram.is_none_or(|v| v == image.min_ram)
            && self.protected.is_none_or(|v| v == image.protected)
            && self.os_hidden.is_none_or(|v| v == image.os_hidden)
            && self.image_type.is_none_or(|t| match t {
                ImageType::Gold => image.visibility == Visibility::Public,
                ImageType::Private => image.owner == project,
                ImageType::None => false,
            })
            && self.created_at.is_none_or(|c| c.matches(image.created_at))
            && self.updated_at.is_none_or(|c| c.matches(image.updated_at))
            && self.properties.iter().all(|(k, v)| image.properties.get(k) == Some(v))
            && self.tags.iter().all(|t| image.tags.get(&t.key) == Some(&t.value))
    }
}

/// Whether a project can see an image at all (owned, or public).
pub fn visible(image: &Image, project: &str) -> bool {
    Access::of(&image.owner, image.visibility, project) != Access::Hidden
}

/// The words a boolean query parameter accepts for true, as Glance reads them (oslo.utils
/// `bool_from_string` in strict mode): compared case-insensitively after trimming surrounding whitespace.
pub const TRUE_WORDS: &[&str] = &["1", "t", "true", "on", "y", "yes"];
/// The words a boolean query parameter accepts for false.
pub const FALSE_WORDS: &[&str] = &["0", "f", "false", "off", "n", "no"];

/// Reads a boolean query parameter the way Glance does (oslo `bool_from_string`, strict): one of
/// [`TRUE_WORDS`] or [`FALSE_WORDS`], any case, surrounding whitespace ignored; anything else is an error
/// naming the parameter.
pub fn parse_bool(field: &str, text: &str) -> Result<bool, InvalidQuery> {
    let word = text.trim().to_lowercase();
    if TRUE_WORDS.contains(&word.as_str()) {
        Ok(true)
    } else if FALSE_WORDS.contains(&word.as_str()) {
        Ok(false)
    } else {
        Err(invalid(format!(
            "'{field}' must be a boolean ({} or {}); got {text:?}.",
            TRUE_WORDS.join(", "),
            FALSE_WORDS.join(", ")
        )))
    }
}

/// Reads a visibility parameter.
pub fn parse_visibility(text: &str) -> Result<Visibility, InvalidQuery> {
    text.parse::<Visibility>().map_err(|e| invalid(format!("'visibility': {e}")))
}

/// The page of `list_tags`: `limit` strings per page, page number `page` (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StringPage {
    /// Strings per page.
    pub limit: usize,
    /// 1-based page number.
    pub page: usize,
}

impl StringPage {
    /// Applies the page to a sorted list; a page past the end is empty.
    pub fn apply(self, items: Vec<String>) -> Vec<String> {
        let start = self.limit.saturating_mul(self.page - 1);
        items.into_iter().skip(start).take(self.limit).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_conditions() {
        let c = TimeCondition::parse("created_at", "gt:2018-10-28T10:00:00Z").expect("valid");
        assert_eq!(c.op, TimeOp::Gt);
        assert!(c.matches(c.at + 1) && !c.matches(c.at));
        let c = TimeCondition::parse("updated_at", "lte:2024-01-01 00:00:00").expect("valid");
        assert!(c.matches(c.at) && !c.matches(c.at + 1));
        assert!(TimeCondition::parse("created_at", "after:2024-01-01 00:00:00").is_err());
        assert!(TimeCondition::parse("created_at", "gt:yesterday").is_err());
    }

    #[test]
    fn string_page_past_the_end_is_empty() {
        let items: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(StringPage { limit: 2, page: 2 }.apply(items.clone()), vec!["c".to_string()]);
        assert!(StringPage { limit: 2, page: 3 }.apply(items).is_empty());
    }
}

//! Image tags: the one canonical model (a key with a value), its string view, and the validation rules of
//! every write and read path.
//!
//! An image holds a set of tags with unique keys. The IMS v2 operations show them as `{key, value}` objects;
//! Glance and IMS v1 show them as strings (`k` when the value is empty, `k=v` otherwise). This module is the only
//! place that converts between the two and the only place that decides what a valid tag is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A tag as stored: keys are unique per image, values may be empty. Both are compared byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Tag {
    /// The tag key.
    pub key: String,
    /// The tag value; `""` for a key-only tag.
    pub value: String,
}

impl Tag {
    /// A tag from its key and value.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self { key: key.into(), value: value.into() }
    }

    /// The string view: `key` for a key-only tag, `key=value` otherwise.
    pub fn to_string_view(&self) -> String {
        if self.value.is_empty() { self.key.clone() } else { format!("{}={}", self.key, self.value) }
    }

    /// Reads the string view: the key is everything before the first `=`, the value everything after it.
    pub fn from_string_view(text: &str) -> Self {
        match text.split_once('=') {
            Some((key, value)) => Self::new(key, value),
            None => Self::new(text, ""),
        }
    }

    /// Reads the IMS v1 `tag` field (`"key.value"`): split at the first `.`; no `.` means an empty value.
    pub fn from_dotted(text: &str) -> Self {
        match text.split_once('.') {
            Some((key, value)) => Self::new(key, value),
            None => Self::new(text, ""),
        }
    }
}

/// An image's tags, ordered by key (and so by `(key, value)`, since keys are unique).
pub type TagSet = BTreeMap<String, String>;

/// The tags of a set in the IMS v2 order: sorted by `(key, value)`.
pub fn tags_of(set: &TagSet) -> Vec<Tag> {
    set.iter().map(|(k, v)| Tag::new(k.clone(), v.clone())).collect()
}

/// The string view of a set, sorted by the bytes of each string.
pub fn string_view_of(set: &TagSet) -> Vec<String> {
    let mut strings: Vec<String> =
        set.iter().map(|(k, v)| Tag::new(k.clone(), v.clone()).to_string_view()).collect();
    strings.sort_unstable();
    strings
}

/// The size limits that apply to tags; every one is a config setting (see `config::Limits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TagLimits {
    /// Tags one image may hold, counted over every path that writes tags.
    pub tags_per_image: usize,
    /// Longest IMS key, in characters.
    pub ims_key_max_chars: usize,
    /// Longest IMS value, in characters.
    pub ims_value_max_chars: usize,
    /// Longest native (Glance) tag, in characters.
    pub native_tag_max_chars: usize,
    /// Longest key or value accepted on read and delete paths, in characters.
    pub lookup_max_chars: usize,
}

impl Default for TagLimits {
    fn default() -> Self {
        Self {
            tags_per_image: 10,
            ims_key_max_chars: 36,
            ims_value_max_chars: 43,
            native_tag_max_chars: 255,
            lookup_max_chars: 255,
        }
    }
}

/// Why a tag was refused; shown to the client as 400 `IMG.0115`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidTag(pub String);

fn char_count(text: &str) -> usize {
    text.chars().count()
}

/// A character allowed in IMS keys: ASCII letters and digits, `_`, `-` and CJK U+4E00-U+9FFF.
fn is_ims_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

/// A character allowed in IMS values: the key characters and `.`.
fn is_ims_value_char(c: char) -> bool {
    is_ims_key_char(c) || c == '.'
}

impl TagLimits {
    /// Checks a key written by an IMS operation (`create_or_update_tags`, `batch_add_or_delete_tags`
    /// `create`, `add_image_tag`).
    pub fn check_ims_key(&self, key: &str) -> Result<(), InvalidTag> {
        let n = char_count(key);
        if n == 0 || n > self.ims_key_max_chars {
            return Err(InvalidTag(format!(
                "The tag key must be 1 to {} characters long; got {n}.",
                self.ims_key_max_chars
            )));
        }
        if let Some(c) = key.chars().find(|c| !is_ims_key_char(*c)) {
            return Err(InvalidTag(format!(
                "The tag key contains {c:?}; keys may hold only letters, digits, '_', '-' and CJK characters."
            )));
        }
        Ok(())
    }

    /// Checks a value written by an IMS operation.
    pub fn check_ims_value(&self, value: &str) -> Result<(), InvalidTag> {
        let n = char_count(value);
        if n > self.ims_value_max_chars {
            return Err(InvalidTag(format!(
                "The tag value must be at most {} characters long; got {n}.",
                self.ims_value_max_chars
            )));
        }
        if let Some(c) = value.chars().find(|c| !is_ims_value_char(*c)) {
            return Err(InvalidTag(format!(
                "The tag value contains {c:?}; values may hold only letters, digits, '_', '-', '.' and CJK characters."
            )));
        }
        Ok(())
    }

    /// Checks a tag written by an IMS operation: its key and its value.
    pub fn check_ims_tag(&self, tag: &Tag) -> Result<(), InvalidTag> {
        self.check_ims_key(&tag.key)?;
        self.check_ims_value(&tag.value)
    }

    /// Checks a native (Glance) tag, which becomes a key with an empty value: 1 to 255 characters, no `=`,
    /// no control characters, no leading or trailing whitespace.
    pub fn check_native_tag(&self, tag: &str) -> Result<(), InvalidTag> {
        let n = char_count(tag);
        if n == 0 || n > self.native_tag_max_chars {
            return Err(InvalidTag(format!(
                "The tag must be 1 to {} characters long; got {n}.",
                self.native_tag_max_chars
            )));
        }
        if tag.contains('=') {
            return Err(InvalidTag("The tag must not contain '='.".into()));
        }
        if tag.chars().any(char::is_control) {
            return Err(InvalidTag("The tag must not contain control characters.".into()));
        }
        if tag.trim() != tag {
            return Err(InvalidTag("The tag must not begin or end with whitespace.".into()));
        }
        Ok(())
    }

    /// Checks a string-view tag given when an image is created: the key by the native rule, the value by the
    /// IMS value rule.
    pub fn check_create_tag(&self, tag: &Tag) -> Result<(), InvalidTag> {
        self.check_native_tag(&tag.key)?;
        self.check_ims_value(&tag.value)
    }

    /// Checks a key or value used to look tags up or delete them: at most 255 characters, any characters, so
    /// that every stored tag can be queried and deleted.
    pub fn check_lookup(&self, what: &str, text: &str) -> Result<(), InvalidTag> {
        let n = char_count(text);
        if n > self.lookup_max_chars {
            return Err(InvalidTag(format!(
                "The {what} must be at most {} characters long; got {n}.",
                self.lookup_max_chars
            )));
        }
        Ok(())
    }
}

/// A change to one image's tags, planned against its current tags inside the store's transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagChange {
    /// Set each key to its value, all or nothing (`glance_create_tag`, `create_or_update_tags`,
    /// `batch_add_or_delete_tags` `create`, `add_image_tag`). Keys are unique.
    Upsert(Vec<Tag>),
    /// Delete a tag named in the string view (`glance_delete_tag`): `k` deletes key `k` whatever its value,
    /// `k=v` only if the value is `v`. Missing is an error.
    DeleteMatching(Tag),
    /// Delete one key (`delete_image_tag`). Missing is an error.
    DeleteKey(String),
    /// Delete these keys, ignoring the missing ones (`batch_add_or_delete_tags` `delete`).
    DeleteKeys(Vec<String>),
}

/// Why a planned change cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TagChangeError {
    /// The tag to delete is not on the image.
    #[error("The tag {0:?} is not on the image.")]
    TagNotFound(String),
    /// The change would leave the image with more tags than allowed.
    #[error("The image would hold {attempted} tags; at most {max} are allowed.")]
    QuotaExceeded {
        /// Tags the image would hold.
        attempted: usize,
        /// The limit.
        max: usize,
    },
}

/// What to write to apply a change: keys to set and keys to remove.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagWrites {
    /// Tags to insert or whose value to update.
    pub upserts: Vec<Tag>,
    /// Keys to delete.
    pub deletes: Vec<String>,
}

impl TagChange {
    /// Plans this change against an image's current tags. Re-adding a key that is already there never counts
    /// against the quota; an unchanged tag is not rewritten.
    pub fn plan(&self, current: &TagSet, max_tags: usize) -> Result<TagWrites, TagChangeError> {
        match self {
            TagChange::Upsert(tags) => {
                let new_keys = tags.iter().filter(|t| !current.contains_key(&t.key)).count();
                let attempted = current.len() + new_keys;
                if new_keys > 0 && attempted > max_tags {
                    return Err(TagChangeError::QuotaExceeded { attempted, max: max_tags });
                }
                let upserts =
                    tags.iter().filter(|t| current.get(&t.key) != Some(&t.value)).cloned().collect();
                Ok(TagWrites { upserts, deletes: Vec::new() })
            }
            TagChange::DeleteMatching(tag) => match current.get(&tag.key) {
                Some(value) if tag.value.is_empty() || *value == tag.value => {
                    Ok(TagWrites { upserts: Vec::new(), deletes: vec![tag.key.clone()] })
                }
                _ => Err(TagChangeError::TagNotFound(tag.to_string_view())),
            },
            TagChange::DeleteKey(key) => {
                if current.contains_key(key) {
                    Ok(TagWrites { upserts: Vec::new(), deletes: vec![key.clone()] })
                } else {
                    Err(TagChangeError::TagNotFound(key.clone()))
                }
            }
            TagChange::DeleteKeys(keys) => Ok(TagWrites {
                upserts: Vec::new(),
                deletes: keys.iter().filter(|k| current.contains_key(*k)).cloned().collect(),
            }),
        }
    }
}

/// Builds the tag set of a new image from the string-view tags of a create request: duplicates collapse, two
/// values for one key are refused, and the set must fit the quota.
pub fn tags_for_new_image(strings: &[String], limits: &TagLimits) -> Result<TagSet, NewImageTagsError> {
    let mut set = TagSet::new();
    for text in strings {
        let tag = Tag::from_string_view(text);
        limits.check_create_tag(&tag).map_err(NewImageTagsError::Invalid)?;
        match set.get(&tag.key) {
            Some(existing) if *existing != tag.value => {
                return Err(NewImageTagsError::Invalid(InvalidTag(format!(
                    "The tag key {:?} is given with two values.",
                    tag.key
                ))));
            }
            _ => {
                set.insert(tag.key, tag.value);
            }
        }
    }
    if set.len() > limits.tags_per_image {
        return Err(NewImageTagsError::Quota(TagChangeError::QuotaExceeded {
            attempted: set.len(),
            max: limits.tags_per_image,
        }));
    }
    Ok(set)
}

/// Why the tags of a create request were refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NewImageTagsError {
    /// A tag is not valid.
    #[error(transparent)]
    Invalid(InvalidTag),
    /// Too many tags.
    #[error(transparent)]
    Quota(TagChangeError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> TagSet {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn string_view_round_trips_and_splits_at_first_equals() {
        assert_eq!(Tag::new("k", "").to_string_view(), "k");
        assert_eq!(Tag::new("k", "v").to_string_view(), "k=v");
        assert_eq!(Tag::from_string_view("a=b=c"), Tag::new("a", "b=c"));
        assert_eq!(Tag::from_string_view("plain"), Tag::new("plain", ""));
        assert_eq!(Tag::from_string_view("k="), Tag::new("k", ""));
    }

    #[test]
    fn dotted_view_splits_at_first_dot() {
        assert_eq!(Tag::from_dotted("env.prod"), Tag::new("env", "prod"));
        assert_eq!(Tag::from_dotted("ver.1.2"), Tag::new("ver", "1.2"));
        assert_eq!(Tag::from_dotted("solo"), Tag::new("solo", ""));
    }

    #[test]
    fn string_view_sorts_by_bytes_not_by_key() {
        let tags = set(&[("a", "b"), ("a-b", ""), ("B", "")]);
        assert_eq!(string_view_of(&tags), vec!["B", "a-b", "a=b"]);
        assert_eq!(tags_of(&tags)[0], Tag::new("B", ""));
    }

    #[test]
    fn ims_key_limits_at_n_and_n_plus_one() {
        let l = TagLimits::default();
        assert!(l.check_ims_key(&"k".repeat(36)).is_ok());
        assert!(l.check_ims_key(&"k".repeat(37)).is_err());
        assert!(l.check_ims_key(&"中".repeat(36)).is_ok(), "limits count characters, not bytes");
        assert!(l.check_ims_key("").is_err());
        assert!(l.check_ims_key("a.b").is_err());
        assert!(l.check_ims_key("a b").is_err());
        assert!(l.check_ims_key("é").is_err());
        assert!(l.check_ims_key("A_z-09").is_ok());
    }

    #[test]
    fn ims_value_limits_at_n_and_n_plus_one() {
        let l = TagLimits::default();
        assert!(l.check_ims_value("").is_ok());
        assert!(l.check_ims_value(&"v".repeat(43)).is_ok());
        assert!(l.check_ims_value(&"v".repeat(44)).is_err());
        assert!(l.check_ims_value("1.2.3").is_ok());
        assert!(l.check_ims_value("a/b").is_err());
        assert!(l.check_ims_value("a=b").is_err());
    }

    #[test]
    fn native_tag_rules() {
        let l = TagLimits::default();
        assert!(l.check_native_tag(&"t".repeat(255)).is_ok());
        assert!(l.check_native_tag(&"t".repeat(256)).is_err());
        assert!(l.check_native_tag("").is_err());
        assert!(l.check_native_tag("a=b").is_err());
        assert!(l.check_native_tag(" a").is_err());
        assert!(l.check_native_tag("a ").is_err());
        assert!(l.check_native_tag("a\u{7}b").is_err());
        assert!(l.check_native_tag("a b/c~d_é").is_ok());
        assert!(l.check_native_tag("gabe@example.com").is_ok());
    }

    #[test]
    fn lookup_allows_anything_up_to_255_characters() {
        let l = TagLimits::default();
        assert!(l.check_lookup("key", "").is_ok());
        assert!(l.check_lookup("key", &"x".repeat(255)).is_ok());
        assert!(l.check_lookup("key", &"x".repeat(256)).is_err());
        assert!(l.check_lookup("key", "a=b/c d\u{0}").is_ok());
    }

    #[test]
    fn upsert_counts_only_new_keys_against_the_quota() {
        let current: TagSet = (0..10).map(|i| (format!("k{i}"), String::new())).collect();
        let readd = TagChange::Upsert(vec![Tag::new("k0", "")]);
        assert_eq!(readd.plan(&current, 10), Ok(TagWrites::default()), "same key and value is a no-op");
        let update = TagChange::Upsert(vec![Tag::new("k1", "new")]);
        assert_eq!(update.plan(&current, 10).map(|w| w.upserts), Ok(vec![Tag::new("k1", "new")]));
        let eleventh = TagChange::Upsert(vec![Tag::new("k10", "")]);
        assert_eq!(
            eleventh.plan(&current, 10),
            Err(TagChangeError::QuotaExceeded { attempted: 11, max: 10 })
        );
    }

    #[test]
    fn delete_matching_reads_the_string_view() {
        let current = set(&[("env", "prod"), ("solo", "")]);
        let plan = |t: &str| TagChange::DeleteMatching(Tag::from_string_view(t)).plan(&current, 10);
        assert_eq!(
            plan("env").map(|w| w.deletes),
            Ok(vec!["env".to_string()]),
            "a bare key matches any value"
        );
        assert_eq!(plan("env=prod").map(|w| w.deletes), Ok(vec!["env".to_string()]));
        assert!(matches!(plan("env=dev"), Err(TagChangeError::TagNotFound(_))));
        assert!(matches!(plan("missing"), Err(TagChangeError::TagNotFound(_))));
        assert_eq!(plan("solo").map(|w| w.deletes), Ok(vec!["solo".to_string()]));
    }

    #[test]
    fn delete_key_and_delete_keys() {
        let current = set(&[("a", "1"), ("b", "")]);
        assert!(TagChange::DeleteKey("c".into()).plan(&current, 10).is_err());
        assert_eq!(
            TagChange::DeleteKeys(vec!["a".into(), "zz".into()]).plan(&current, 10).map(|w| w.deletes),
            Ok(vec!["a".to_string()]),
            "missing keys are ignored"
        );
    }

    #[test]
    fn new_image_tags_collapse_duplicates_and_refuse_conflicts() {
        let l = TagLimits::default();
        let ok = tags_for_new_image(&["sniff".into(), "sniff".into(), "os=linux".into()], &l);
        assert_eq!(ok, Ok(set(&[("sniff", ""), ("os", "linux")])));
        assert!(matches!(
            tags_for_new_image(&["os=linux".into(), "os=windows".into()], &l),
            Err(NewImageTagsError::Invalid(_))
        ));
        let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        assert!(matches!(tags_for_new_image(&eleven, &l), Err(NewImageTagsError::Quota(_))));
        assert!(matches!(
            tags_for_new_image(&["bad value=a/b".into()], &l),
            Err(NewImageTagsError::Invalid(_))
        ));
    }
}

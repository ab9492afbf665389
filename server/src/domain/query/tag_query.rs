//! The tag query of `list_image_by_tags`: which of the project's images to select, by tags (all of, any of,
//! not all of, none of), by being untagged, and by name or id; and the page of results.

use std::collections::HashSet;

use super::{InvalidQuery, QueryLimits, invalid};
use crate::domain::tag::{TagLimits, TagSet};

/// One tag condition: the image has `key` with one of `values` (any value when `values` is empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagCondition {
    /// The key.
    pub key: String,
    /// The accepted values; empty means any value.
    pub values: Vec<String>,
}

impl TagCondition {
    /// Whether a tag set satisfies this condition.
    pub fn matches(&self, tags: &TagSet) -> bool {
        tags.get(&self.key).is_some_and(|v| self.values.is_empty() || self.values.contains(v))
    }
}

/// A tag-list entry as it arrives, before validation.
#[derive(Clone, Debug)]
pub struct RawCondition {
    /// The key.
    pub key: String,
    /// The values; `None` when the entry has no `values` field.
    pub values: Option<Vec<String>>,
}

/// A `matches` entry as it arrives, before validation.
#[derive(Clone, Debug)]
pub struct RawMatch {
    /// The field name: `resource_name` or `resource_id`.
    pub key: String,
    /// The value to match.
    pub value: String,
}

/// How `matches.resource_name` selects images.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameMatch {
    /// The name contains this text, ignoring case (the text is kept lower-cased).
    Contains(String),
    /// The name is empty (the match value was `""`).
    Empty,
}

impl NameMatch {
    /// Whether an image name satisfies the match; a missing name counts as `""`.
    pub fn matches(&self, name: Option<&str>) -> bool {
        let name = name.unwrap_or("");
        match self {
            NameMatch::Contains(needle) => fold_case(name).contains(needle.as_str()),
            NameMatch::Empty => name.is_empty(),
        }
    }
}

/// The case folding used for name matching; stores keep a folded copy of each name.
pub fn fold_case(text: &str) -> String {
    text.to_lowercase()
}

/// The tag query of `list_image_by_tags`: which of the project's images to select.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagQuery {
    /// `tags`: the image matches every condition.
    pub all: Vec<TagCondition>,
    /// `tags_any`: the image matches at least one condition.
    pub any: Vec<TagCondition>,
    /// `not_tags`: images matching every one of these are excluded.
    pub not_all: Vec<TagCondition>,
    /// `not_tags_any`: images matching any of these are excluded.
    pub not_any: Vec<TagCondition>,
    /// `without_any_tag`: only untagged images; the four lists are then ignored.
    pub untagged: bool,
    /// `matches.resource_name`.
    pub name: Option<NameMatch>,
    /// `matches.resource_id`: exact id.
    pub id: Option<String>,
}

/// The parts of a `list_image_by_tags` body, before validation.
#[derive(Clone, Debug, Default)]
pub struct RawTagQuery {
    /// `tags`.
    pub tags: Option<Vec<RawCondition>>,
    /// `tags_any`.
    pub tags_any: Option<Vec<RawCondition>>,
    /// `not_tags`.
    pub not_tags: Option<Vec<RawCondition>>,
    /// `not_tags_any`.
    pub not_tags_any: Option<Vec<RawCondition>>,
    /// `without_any_tag`.
    pub without_any_tag: Option<bool>,
    /// `matches`.
    pub matches: Option<Vec<RawMatch>>,
}

impl TagQuery {
    /// Validates a `list_image_by_tags` body: lists may be omitted but not empty, at most `max_entries` entries
    /// with unique keys, at most `max_values` values each, `values` present on each entry, keys and values
    /// within the lookup length; `matches` keys only `resource_name` and `resource_id`. Lists are validated even
    /// when `without_any_tag` is true.
    pub fn parse(raw: RawTagQuery, tags: &TagLimits, limits: &QueryLimits) -> Result<TagQuery, InvalidQuery> {
        let list = |field: &str,
                    entries: Option<Vec<RawCondition>>|
         -> Result<Vec<TagCondition>, InvalidQuery> {
            let Some(entries) = entries else { return Ok(Vec::new()) };
            if entries.is_empty() {
                return Err(invalid(format!("'{field}' must not be an empty list; omit it instead.")));
            }
            if entries.len() > limits.max_entries {
                return Err(invalid(format!("'{field}' may hold at most {} entries.", limits.max_entries)));
            }
            let mut keys = HashSet::new();
            entries
                .into_iter()
                .map(|entry| {
                    tags.check_lookup("tag key", &entry.key)
                        .map_err(|e| invalid(format!("'{field}': {e}")))?;
                    if !keys.insert(entry.key.clone()) {
                        return Err(invalid(format!("'{field}' repeats the key {:?}.", entry.key)));
                    }
                    let values = entry.values.ok_or_else(|| {
                        invalid(format!("'{field}': the entry {:?} has no 'values'.", entry.key))
                    })?;
                    if values.len() > limits.max_values {
                        return Err(invalid(format!(
                            "'{field}': the entry {:?} may hold at most {} values.",
                            entry.key, limits.max_values
                        )));
                    }
                    for value in &values {
                        tags.check_lookup("tag value", value)
                            .map_err(|e| invalid(format!("'{field}': {e}")))?;
                    }
                    Ok(TagCondition { key: entry.key, values })
                })
                .collect()
        };
        let mut query = TagQuery {
            all: list("tags", raw.tags)?,
            any: list("tags_any", raw.tags_any)?,
            not_all: list("not_tags", raw.not_tags)?,
            not_any: list("not_tags_any", raw.not_tags_any)?,
            untagged: raw.without_any_tag.unwrap_or(false),
            ..TagQuery::default()
        };
        if let Some(matches) = raw.matches {
            if matches.is_empty() {
                return Err(invalid("'matches' must not be an empty list; omit it instead."));
            }
            if matches.len() > limits.max_entries {
                return Err(invalid(format!("'matches' may hold at most {} entries.", limits.max_entries)));
            }
            for m in matches {
                tags.check_lookup("match value", &m.value).map_err(|e| invalid(format!("'matches': {e}")))?;
                let repeated = match m.key.as_str() {
                    "resource_name" => query
                        .name
                        .replace(if m.value.is_empty() {
                            NameMatch::Empty
                        } else {
                            NameMatch::Contains(fold_case(&m.value))
                        })
                        .is_some(),
                    "resource_id" => query.id.replace(m.value).is_some(),
                    other => {
                        return Err(invalid(format!(
                            "'matches' keys are 'resource_name' or 'resource_id', not {other:?}."
                        )));
                    }
                };
                if repeated {
                    return Err(invalid("'matches' repeats a key."));
                }
            }
        }
        Ok(query)
    }

    /// Whether an image (by name, id and tags) is selected by this query.
    pub fn matches(&self, name: Option<&str>, id: &str, tags: &TagSet) -> bool {
        let attributes =
            self.name.as_ref().is_none_or(|m| m.matches(name)) && self.id.as_deref().is_none_or(|i| i == id);
        if !attributes {
            return false;
        }
        if self.untagged {
            return tags.is_empty();
        }
        self.all.iter().all(|c| c.matches(tags))
            && (self.any.is_empty() || self.any.iter().any(|c| c.matches(tags)))
            && (self.not_all.is_empty() || !self.not_all.iter().all(|c| c.matches(tags)))
            && !self.not_any.iter().any(|c| c.matches(tags))
    }
}

/// A page of `list_image_by_tags` results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// Most results to return.
    pub limit: u64,
    /// Results to skip.
    pub offset: u64,
}

impl Page {
    /// Validates the `limit` (1 to `max_limit`, default `default_limit`) and `offset` (0 or more, default 0),
    /// given as decimal strings or integers.
    pub fn parse(
        limit: Option<&str>,
        offset: Option<&str>,
        limits: &QueryLimits,
    ) -> Result<Page, InvalidQuery> {
        let number = |field: &str, text: &str| -> Result<u64, InvalidQuery> {
            text.trim()
                .parse::<u64>()
                .map_err(|_| invalid(format!("'{field}' must be a non-negative integer; got {text:?}.")))
        };
        let limit = match limit {
            None => limits.default_limit,
            Some(text) => number("limit", text)?,
        };
        if limit == 0 || limit > limits.max_limit {
            return Err(invalid(format!("'limit' must be between 1 and {}; got {limit}.", limits.max_limit)));
        }
        let offset = offset.map(|text| number("offset", text)).transpose()?.unwrap_or(0);
        Ok(Page { limit, offset })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> TagSet {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn cond(key: &str, values: &[&str]) -> RawCondition {
        RawCondition { key: key.into(), values: Some(values.iter().map(|v| v.to_string()).collect()) }
    }

    fn parse(raw: RawTagQuery) -> Result<TagQuery, InvalidQuery> {
        TagQuery::parse(raw, &TagLimits::default(), &QueryLimits::default())
    }

    #[test]
    fn each_list_has_its_meaning() {
        let prod = tags(&[("env", "prod"), ("team", "a")]);
        let dev = tags(&[("env", "dev")]);
        let none = TagSet::new();
        let q = parse(RawTagQuery { tags: Some(vec![cond("env", &["prod", "dev"])]), ..Default::default() })
            .expect("valid");
        assert!(q.matches(None, "i", &prod) && q.matches(None, "i", &dev) && !q.matches(None, "i", &none));

        let q = parse(RawTagQuery {
            tags_any: Some(vec![cond("team", &[]), cond("env", &["dev"])]),
            ..Default::default()
        })
        .expect("valid");
        assert!(q.matches(None, "i", &prod) && q.matches(None, "i", &dev) && !q.matches(None, "i", &none));

        let q = parse(RawTagQuery {
            not_tags: Some(vec![cond("env", &["prod"]), cond("team", &["a"])]),
            ..Default::default()
        })
        .expect("valid");
        assert!(!q.matches(None, "i", &prod), "matches every entry, so excluded");
        assert!(q.matches(None, "i", &dev) && q.matches(None, "i", &none));

        let q = parse(RawTagQuery {
            not_tags_any: Some(vec![cond("team", &[]), cond("x", &[])]),
            ..Default::default()
        })
        .expect("valid");
        assert!(!q.matches(None, "i", &prod) && q.matches(None, "i", &dev));

        let q = parse(RawTagQuery {
            without_any_tag: Some(true),
            tags: Some(vec![cond("env", &["prod"])]),
            ..Default::default()
        })
        .expect("valid");
        assert!(
            q.matches(None, "i", &none) && !q.matches(None, "i", &prod),
            "lists are ignored when untagged"
        );
    }

    #[test]
    fn matches_by_name_and_id() {
        let raw = |key: &str, value: &str| RawTagQuery {
            matches: Some(vec![RawMatch { key: key.into(), value: value.into() }]),
            ..Default::default()
        };
        let q = parse(raw("resource_name", "WEB")).expect("valid");
        assert!(q.matches(Some("my-web-image"), "i", &TagSet::new()), "case-insensitive substring");
        assert!(!q.matches(Some("db"), "i", &TagSet::new()));
        let q = parse(raw("resource_name", "")).expect("valid");
        assert!(q.matches(Some(""), "i", &TagSet::new()) && q.matches(None, "i", &TagSet::new()));
        assert!(!q.matches(Some("x"), "i", &TagSet::new()), "empty value is an exact match");
        let q = parse(raw("resource_id", "abc")).expect("valid");
        assert!(q.matches(None, "abc", &TagSet::new()) && !q.matches(None, "abcd", &TagSet::new()));
        assert!(parse(raw("status", "x")).is_err());
    }

    #[test]
    fn structural_rules() {
        assert!(parse(RawTagQuery { tags: Some(vec![]), ..Default::default() }).is_err(), "empty list");
        assert!(parse(RawTagQuery { matches: Some(vec![]), ..Default::default() }).is_err());
        let eleven: Vec<_> = (0..11).map(|i| cond(&format!("k{i}"), &[])).collect();
        assert!(parse(RawTagQuery { tags_any: Some(eleven[..10].to_vec()), ..Default::default() }).is_ok());
        assert!(parse(RawTagQuery { tags_any: Some(eleven), ..Default::default() }).is_err());
        let values: Vec<String> = (0..11).map(|i| i.to_string()).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        assert!(
            parse(RawTagQuery { tags: Some(vec![cond("k", &refs[..10])]), ..Default::default() }).is_ok()
        );
        assert!(parse(RawTagQuery { tags: Some(vec![cond("k", &refs)]), ..Default::default() }).is_err());
        assert!(
            parse(RawTagQuery { tags: Some(vec![cond("k", &[]), cond("k", &["v"])]), ..Default::default() })
                .is_err()
        );
        let no_values = RawCondition { key: "k".into(), values: None };
        assert!(parse(RawTagQuery { not_tags: Some(vec![no_values]), ..Default::default() }).is_err());
        let long = cond(&"k".repeat(256), &[]);
        assert!(
            parse(RawTagQuery { tags: Some(vec![long]), without_any_tag: Some(true), ..Default::default() })
                .is_err(),
            "lists are validated even when without_any_tag is true"
        );
    }

    #[test]
    fn page_accepts_strings_and_bounds() {
        let l = QueryLimits::default();
        assert_eq!(Page::parse(None, None, &l), Ok(Page { limit: 10, offset: 0 }));
        assert_eq!(Page::parse(Some("1000"), Some("5"), &l), Ok(Page { limit: 1000, offset: 5 }));
        assert!(Page::parse(Some("1001"), None, &l).is_err());
        assert!(Page::parse(Some("0"), None, &l).is_err());
        assert!(Page::parse(Some("-1"), None, &l).is_err());
        assert!(Page::parse(None, Some("-1"), &l).is_err());
        assert!(Page::parse(Some("ten"), None, &l).is_err());
    }
}

//! Query models: the tag query of `list_image_by_tags` ([`tag_query`]), the image filter of `list_tags` and
//! `glance_list_images` ([`image_filter`]), and the image list of `glance_list_images` ([`image_list`]), with
//! the limits every query is held to.
//!
//! Each model has a plain-Rust reference predicate (`TagQuery::matches`, `ImageFilter::matches` with
//! `visible`), which the model-versus-SQL tests (`server/tests/api/store_queries.rs`) check every store's SQL
//! against on random data. Parsing HTTP parameters and writing SQL are not the models' business: the former
//! lives with the handlers (`api`), the latter in the stores.

pub mod image_filter;
pub mod image_list;
pub mod tag_query;

/// A problem with query parameters or a query body; shown to the client as 400 `IMG.0001`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidQuery(pub String);

fn invalid(message: impl Into<String>) -> InvalidQuery {
    InvalidQuery(message.into())
}

/// The limits on `list_image_by_tags` bodies and on the filter terms of the list operations; config settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueryLimits {
    /// Entries in one tag list (`tags`, `tags_any`, ...) and in `matches`.
    pub max_entries: usize,
    /// Values in one entry.
    pub max_values: usize,
    /// Largest page (`limit`).
    pub max_limit: u64,
    /// Page size when `limit` is not given.
    pub default_limit: u64,
    /// Filter terms in one list request: repeated `tag` parameters (`list_tags`, `glance_list_images`) plus
    /// extra-property filters (`list_tags`). Each term is one more condition in the database query, so the
    /// cap bounds its size.
    pub max_filter_terms: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self { max_entries: 10, max_values: 10, max_limit: 1000, default_limit: 10, max_filter_terms: 50 }
    }
}

/// The largest `max_entries`, `max_values` and `max_filter_terms` a configuration may set: each entry, value
/// and term adds to the database query, and beyond these the largest request could exceed what the database
/// accepts (SQLite: an expression depth of 1,000, 32,766 parameters).
pub const QUERY_LIMIT_CEILINGS: (usize, usize, usize) = (50, 50, 500);

impl QueryLimits {
    /// Checks configured limits against `QUERY_LIMIT_CEILINGS`, so that no valid request can build a query the
    /// database refuses.
    pub fn check(&self) -> Result<(), String> {
        let (entries, values, terms) = QUERY_LIMIT_CEILINGS;
        for (name, value, ceiling) in [
            ("max_entries", self.max_entries, entries),
            ("max_values", self.max_values, values),
            ("max_filter_terms", self.max_filter_terms, terms),
        ] {
            if value > ceiling {
                return Err(format!("query_limits.{name} ({value}) may be at most {ceiling}"));
            }
        }
        Ok(())
    }

    /// Refuses a request with more filter terms than the cap.
    pub fn check_filter_terms(&self, terms: usize, what: &str) -> Result<(), InvalidQuery> {
        if terms > self.max_filter_terms {
            return Err(invalid(format!(
                "At most {} filter terms ({what}) are allowed in one request; got {terms}.",
                self.max_filter_terms
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_limits_stay_under_the_ceilings() {
        assert_eq!(QueryLimits::default().check(), Ok(()));
        let (entries, values, terms) = QUERY_LIMIT_CEILINGS;
        let at = QueryLimits {
            max_entries: entries,
            max_values: values,
            max_filter_terms: terms,
            ..Default::default()
        };
        assert_eq!(at.check(), Ok(()));
        assert!(QueryLimits { max_entries: entries + 1, ..at }.check().is_err());
        assert!(QueryLimits { max_values: values + 1, ..at }.check().is_err());
        assert!(QueryLimits { max_filter_terms: terms + 1, ..at }.check().is_err());
    }
}

//! Query models: the tag query of `resource_instances/action` (op 5), the image filters of
//! `GET /v1/cloudimages/tags` (op 4) and of `GET /v2/images`, with their parsing and validation.
//!
//! Each model also has a plain-Rust `matches` predicate, the reference the SQL of every store is tested
//! against.

use std::collections::HashSet;

use uuid::Uuid;

use super::image::{Access, Image, Visibility};
use super::tag::{Tag, TagLimits, TagSet};

/// A problem with query parameters or a query body; shown to the client as 400 `IMG.0001`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidQuery(pub String);

fn invalid(message: impl Into<String>) -> InvalidQuery {
    InvalidQuery(message.into())
}

/// The limits on op 5 query bodies and on the filter terms of the list operations; config settings.
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
    /// Filter terms in one list request: repeated `tag` parameters (op 4, `GET /v2/images`) plus extra-property
    /// filters (op 4). Each term is one more condition in the database query, so the cap bounds its size.
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
    fn check_filter_terms(&self, terms: usize, what: &str) -> Result<(), InvalidQuery> {
        if terms > self.max_filter_terms {
            return Err(invalid(format!(
                "At most {} filter terms ({what}) are allowed in one request; got {terms}.",
                self.max_filter_terms
            )));
        }
        Ok(())
    }
}

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

/// The op 5 tag query: which of the project's images to return.
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

/// The raw parts of an op 5 body, before validation.
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
    /// Validates an op 5 body: lists may be omitted but not empty, at most `max_entries` entries with unique
    /// keys, at most `max_values` values each, `values` present on each entry, keys and values within the lookup
    /// length; `matches` keys only `resource_name` and `resource_id`. Lists are validated even when
    /// `without_any_tag` is true.
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

/// A page of op 5 results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// Most results to return.
    pub limit: u64,
    /// Results to skip.
    pub offset: u64,
}

impl Page {
    /// Validates op 5 `limit` (1 to `max_limit`, default `default_limit`) and `offset` (0 or more, default 0),
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
    /// The SQL operator.
    pub fn sql(self) -> &'static str {
        match self {
            TimeOp::Gt => ">",
            TimeOp::Gte => ">=",
            TimeOp::Lt => "<",
            TimeOp::Lte => "<=",
            TimeOp::Eq => "=",
            TimeOp::Neq => "<>",
        }
    }

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
        let at = super::time::parse(time).ok_or_else(bad)?;
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

/// Filters on image attributes, shared by op 4 and `GET /v2/images`. Every condition must hold.
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

fn parse_int(field: &str, text: &str) -> Result<i64, InvalidQuery> {
    text.parse::<i64>().map_err(|_| invalid(format!("'{field}' must be an integer; got {text:?}.")))
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

fn parse_visibility(text: &str) -> Result<Visibility, InvalidQuery> {
    text.parse::<Visibility>().map_err(|e| invalid(format!("'visibility': {e}")))
}

/// A boolean query parameter as it arrives, read with [`parse_bool`]. In the OpenAPI document it is a string
/// of the words Glance accepts (`True` from Python clients among them), not a JSON boolean.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(transparent)]
pub struct GlanceBoolean(pub String);

/// The pattern of [`GlanceBoolean`]: the words of [`TRUE_WORDS`] and [`FALSE_WORDS`] in any case, with optional
/// surrounding whitespace.
pub const BOOLEAN_PATTERN: &str = r"^\s*(1|0|[tT]([rR][uU][eE])?|[fF]([aA][lL][sS][eE])?|[oO]([nN]|[fF][fF])|[yY]([eE][sS])?|[nN][oO]?)\s*$";

impl utoipa::PartialSchema for GlanceBoolean {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "A boolean as Glance reads it: `1`, `t`, `true`, `on`, `y`, `yes` or `0`, `f`, `false`, `off`, `n`, \
                 `no`, in any case, surrounding whitespace ignored.",
            ))
            .pattern(Some(BOOLEAN_PATTERN))
            .examples(["true"])
            .into()
    }
}

impl utoipa::ToSchema for GlanceBoolean {}

/// Reads a parameter that is present as `Some`, even when its value is empty (`os_hidden=` is a 400, as in
/// Glance, not a missing parameter); absent parameters take the field's default.
fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

impl GlanceBoolean {
    /// The value, or a 400 naming `field`.
    pub fn parse(&self, field: &str) -> Result<bool, InvalidQuery> {
        parse_bool(field, &self.0)
    }
}

/// Op 4 parameters that select images by a base attribute.
pub const OP4_ATTRIBUTE_FILTERS: &[&str] = &[
    "id",
    "name",
    "status",
    "visibility",
    "owner",
    "container_format",
    "disk_format",
    "min_disk",
    "min_ram",
    "protected",
    "__imagetype",
    "created_at",
    "updated_at",
    "tag",
];
/// Op 4 parameters that select images by an extra property of the same name (besides any name starting `__`).
pub const OP4_PROPERTY_FILTERS: &[&str] = &["architecture", "virtual_env_type", "flavor_id"];
/// Op 4 parameters that page the result.
pub const OP4_PAGING: &[&str] = &["limit", "page"];

/// Paging of op 4: `limit` strings per page, page number `page` (1-based).
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

/// Parses the query parameters of op 4 (`GET /v1/cloudimages/tags`). Attribute filters are exact; property
/// filters (`__*`, `architecture`, `virtual_env_type`, `flavor_id`) match the extra property of that name;
/// `limit` and `page` are integers of at least 1 (`page` without `limit` is ignored); anything else
/// (`member_status`, `enterprise_project_id`, unknown names) is ignored. Repeated `tag` parameters and property
/// filters count against `max_filter_terms`.
pub fn parse_op4(
    pairs: &[(String, String)],
    limits: &QueryLimits,
) -> Result<(ImageFilter, Option<StringPage>), InvalidQuery> {
    let mut filter = ImageFilter::default();
    let (mut limit, mut page) = (None, None);
    for (name, value) in pairs {
        match name.as_str() {
            "limit" | "page" => {
                let n = value.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    invalid(format!("'{name}' must be an integer of at least 1; got {value:?}."))
                })?;
                if name == "limit" { limit = Some(n) } else { page = Some(n) }
            }
            "__imagetype" => {
                filter.image_type = Some(match value.as_str() {
                    "gold" => ImageType::Gold,
                    "private" => ImageType::Private,
                    "shared" | "market" => ImageType::None,
                    other => {
                        return Err(invalid(format!(
                            "'__imagetype' must be gold, private, shared or market; got {other:?}."
                        )));
                    }
                })
            }
            "tag" => filter.tags.push(Tag::from_string_view(value.trim())),
            other if OP4_ATTRIBUTE_FILTERS.contains(&other) => apply_attribute(&mut filter, other, value)?,
            other if other.starts_with("__") || OP4_PROPERTY_FILTERS.contains(&other) => {
                filter.properties.push((other.to_owned(), value.clone()));
            }
            _ => {}
        }
    }
    limits.check_filter_terms(
        filter.tags.len() + filter.properties.len(),
        "'tag' parameters and property filters together",
    )?;
    let paging = limit.map(|limit| StringPage { limit, page: page.unwrap_or(1) });
    Ok((filter, paging))
}

fn apply_attribute(filter: &mut ImageFilter, name: &str, value: &str) -> Result<(), InvalidQuery> {
    let text = || Some(value.to_owned());
    match name {
        "id" => filter.id = text(),
        "name" => filter.name = text(),
        "status" => filter.status = text(),
        "visibility" => filter.visibility = Some(parse_visibility(value)?),
        "owner" => filter.owner = text(),
        "container_format" => filter.container_format = text(),
        "disk_format" => filter.disk_format = text(),
        "min_disk" => filter.min_disk = Some(parse_int(name, value)?),
        "min_ram" => filter.min_ram = Some(parse_int(name, value)?),
        "protected" => filter.protected = Some(parse_bool(name, value)?),
        "created_at" => filter.created_at = Some(TimeCondition::parse(name, value)?),
        "updated_at" => filter.updated_at = Some(TimeCondition::parse(name, value)?),
        _ => {}
    }
    Ok(())
}

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
    fn parse(text: &str) -> Result<SortKey, InvalidQuery> {
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

/// The query parameters of `GET /v2/images`, as they arrive (and as the OpenAPI document describes them).
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImageListParams {
    /// Page size (default 25, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Return images after this id (from `next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(format = Uuid)]
    pub marker: Option<String>,
    /// `name`, `status`, `container_format`, `disk_format`, `size`, `id`, `created_at` (default) or `updated_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<String>,
    /// `asc` or `desc` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_dir: Option<String>,
    /// Exact name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Exact status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A visibility, or `all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// Exact owner project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `true` lists only hidden images, `false` (the default) only the others; Glance's boolean words.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub os_hidden: Option<GlanceBoolean>,
    /// Only protected (`true`) or unprotected (`false`) images; a boolean as for `os_hidden`.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub protected: Option<GlanceBoolean>,
    /// Exact image id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(format = Uuid)]
    pub id: Option<String>,
    /// `op:time`, op in gt, gte, lt, lte, eq, neq; time `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DD HH:MM:SS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(example = "gte:2024-01-01T00:00:00Z")]
    pub created_at: Option<String>,
    /// Like `created_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(example = "gte:2024-01-01T00:00:00Z")]
    pub updated_at: Option<String>,
    /// A tag the images must have (string view, exact, case-sensitive); repeat for more (AND), at most 50.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[param(style = Form, explode = true)]
    pub tag: Vec<String>,
}

/// Default page size of `GET /v2/images`.
pub const LIST_DEFAULT_LIMIT: u64 = 25;
/// Largest page of `GET /v2/images`.
pub const LIST_MAX_LIMIT: u64 = 1000;

impl ImageListQuery {
    /// Validates `GET /v2/images` parameters the way Glance reads them: `limit` capped at 1000 (default 25),
    /// `sort_dir` `asc`/`desc` (default `desc` by `created_at`), `tag` values stripped and ANDed (at most
    /// `max_filter_terms` of them), hidden images left out unless `os_hidden=true`.
    pub fn parse(params: &ImageListParams, limits: &QueryLimits) -> Result<ImageListQuery, InvalidQuery> {
        limits.check_filter_terms(params.tag.len(), "'tag' parameters")?;
        let limit = params.limit.map_or(LIST_DEFAULT_LIMIT, |l| u64::from(l).min(LIST_MAX_LIMIT));
        let marker = params
            .marker
            .as_ref()
            .map(|m| Uuid::parse_str(m).map_err(|_| invalid(format!("The marker {m:?} is not an image id."))))
            .transpose()?;
        let sort_key =
            params.sort_key.as_deref().map(SortKey::parse).transpose()?.unwrap_or(SortKey::CreatedAt);
        let ascending = match params.sort_dir.as_deref() {
            None | Some("desc") => false,
            Some("asc") => true,
            Some(other) => return Err(invalid(format!("'sort_dir' must be asc or desc; got {other:?}."))),
        };
        let visibility = match params.visibility.as_deref() {
            None | Some("all") => None,
            Some(text) => Some(parse_visibility(text)?),
        };
        let filter = ImageFilter {
            name: params.name.clone(),
            status: params.status.clone(),
            visibility,
            owner: params.owner.clone(),
            os_hidden: Some(
                params.os_hidden.as_ref().map(|v| v.parse("os_hidden")).transpose()?.unwrap_or(false),
            ),
            protected: params.protected.as_ref().map(|v| v.parse("protected")).transpose()?,
            id: params.id.clone(),
            created_at: params
                .created_at
                .as_deref()
                .map(|v| TimeCondition::parse("created_at", v))
                .transpose()?,
            updated_at: params
                .updated_at
                .as_deref()
                .map(|v| TimeCondition::parse("updated_at", v))
                .transpose()?,
            tags: params.tag.iter().map(|t| Tag::from_string_view(t.trim())).collect(),
            ..ImageFilter::default()
        };
        Ok(ImageListQuery { filter, sort_key, ascending, limit, marker })
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
    fn op4_parameters() {
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let (f, page) = parse_op4(
            &pairs(&[
                ("__imagetype", "gold"),
                ("__os_type", "Linux"),
                ("architecture", "x86"),
                ("member_status", "accepted"),
                ("enterprise_project_id", "0"),
                ("whatever", "ignored"),
                ("min_disk", "40"),
            ]),
            &QueryLimits::default(),
        )
        .expect("valid");
        assert_eq!(f.image_type, Some(ImageType::Gold));
        assert_eq!(f.min_disk, Some(40));
        assert_eq!(
            f.properties,
            vec![("__os_type".to_string(), "Linux".to_string()), ("architecture".into(), "x86".into())]
        );
        assert_eq!(page, None);
        assert_eq!(
            parse_op4(&pairs(&[("page", "2")]), &QueryLimits::default()).map(|r| r.1),
            Ok(None),
            "page without limit is ignored"
        );
        assert_eq!(
            parse_op4(&pairs(&[("limit", "2"), ("page", "3")]), &QueryLimits::default()).map(|r| r.1),
            Ok(Some(StringPage { limit: 2, page: 3 }))
        );
        for bad in
            [("limit", "0"), ("page", "0"), ("limit", "x"), ("min_disk", "big"), ("__imagetype", "other")]
        {
            assert!(parse_op4(&pairs(&[bad]), &QueryLimits::default()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn string_page_past_the_end_is_empty() {
        let items: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(StringPage { limit: 2, page: 2 }.apply(items.clone()), vec!["c".to_string()]);
        assert!(StringPage { limit: 2, page: 3 }.apply(items).is_empty());
    }

    #[test]
    fn list_query_defaults_and_errors() {
        let parse = |params: ImageListParams| ImageListQuery::parse(&params, &QueryLimits::default());
        let q = parse(ImageListParams::default()).expect("valid");
        assert_eq!((q.limit, q.sort_key, q.ascending), (25, SortKey::CreatedAt, false));
        assert_eq!(q.filter.os_hidden, Some(false));
        let q = parse(ImageListParams {
            limit: Some(5000),
            tag: vec![" a ".into(), "k=v".into()],
            visibility: Some("all".into()),
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(q.limit, 1000);
        assert_eq!(q.filter.tags, vec![Tag::new("a", ""), Tag::new("k", "v")]);
        assert!(parse(ImageListParams { sort_dir: Some("up".into()), ..Default::default() }).is_err());
        assert!(parse(ImageListParams { marker: Some("nope".into()), ..Default::default() }).is_err());
        assert!(parse(ImageListParams { sort_key: Some("tags".into()), ..Default::default() }).is_err());
    }

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

    #[test]
    fn filter_terms_are_capped() {
        let limits = QueryLimits::default();
        let tags = |n: usize| (0..n).map(|i| format!("k{i}")).collect::<Vec<_>>();
        let list = |n: usize| ImageListParams { tag: tags(n), ..Default::default() };
        assert!(ImageListQuery::parse(&list(limits.max_filter_terms), &limits).is_ok());
        let over =
            ImageListQuery::parse(&list(limits.max_filter_terms + 1), &limits).expect_err("over the cap");
        assert!(over.0.contains("At most 50 filter terms"), "the message names the cap: {over}");

        let op4 = |tags: usize, properties: usize| {
            let mut pairs: Vec<(String, String)> =
                (0..tags).map(|i| ("tag".to_owned(), format!("k{i}"))).collect();
            pairs.extend((0..properties).map(|i| (format!("__p{i}"), "v".to_owned())));
            pairs.push(("name".into(), "n".into()));
            parse_op4(&pairs, &limits)
        };
        assert!(op4(25, 25).is_ok(), "tags and properties together up to the cap");
        assert!(op4(25, 26).is_err());
        assert!(op4(0, 51).is_err());
        assert!(op4(51, 0).is_err());
    }
}

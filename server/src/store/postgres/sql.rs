//! SQL text of the PostgreSQL queries whose shape depends on the request (image filters, tag queries, keyset
//! pages): `$n` placeholders numbered across the whole statement, each parameter with its type, so that a
//! statement is parsed, bound and run in one round trip (`query_typed`). Value lists are one array parameter
//! (`= ANY($n)`), so the number of placeholders does not grow with them.
//!
//! Every condition on tags or properties joins on `(owner, image_id)`, the leading columns of their primary
//! keys: rows of one image live with their owner, wherever the project's rows are placed. What a project can
//! see is split into two disjoint arms, its own images and other projects' public images, each answered from
//! its own index and combined with `UNION ALL`: an `OR` across the two would make the database scan every
//! image.

use std::collections::BTreeMap;

use tokio_postgres::types::{ToSql, Type};
use uuid::Uuid;

use crate::domain::image::Visibility;
use crate::domain::query::image_filter::{ImageFilter, ImageType};
use crate::domain::query::image_list::{ImageListQuery, SortKey};
use crate::domain::query::tag_query::{NameMatch, TagCondition, TagQuery};

/// Tag conditions of one list that become joins (each a set of images from the tag index); the planner's
/// time grows fast with the number of joins, so further conditions are counted image by image instead.
const JOINED_CONDITIONS: usize = 4;

/// A typed query parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Param {
    /// `text`.
    Text(String),
    /// `bigint`.
    Int(i64),
    /// `boolean`.
    Bool(bool),
    /// `uuid`.
    Uuid(Uuid),
    /// `text[]`.
    Texts(Vec<String>),
}

impl Param {
    /// The value and its type, as `query_typed` takes them.
    pub fn typed(&self) -> (&(dyn ToSql + Sync), Type) {
        match self {
            Param::Text(v) => (v, Type::TEXT),
            Param::Int(v) => (v, Type::INT8),
            Param::Bool(v) => (v, Type::BOOL),
            Param::Uuid(v) => (v, Type::UUID),
            Param::Texts(v) => (v, Type::TEXT_ARRAY),
        }
    }
}

/// The parameters of one statement; each `push` gives the placeholder of the value.
#[derive(Debug, Default)]
pub struct Params(Vec<Param>);

impl Params {
    /// Adds a parameter; returns its placeholder (`$n`).
    pub fn push(&mut self, param: Param) -> String {
        self.0.push(param);
        format!("${}", self.0.len())
    }

    /// The values and types, in placeholder order.
    pub fn typed(&self) -> Vec<(&(dyn ToSql + Sync), Type)> {
        self.0.iter().map(Param::typed).collect()
    }
}

/// One of the two disjoint parts of what a project can see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arm {
    /// The project's own images.
    Owned,
    /// Public images of other projects.
    PublicOthers,
}

/// Both arms, in the order they are combined.
pub const ARMS: [Arm; 2] = [Arm::Owned, Arm::PublicOthers];

/// The columns of an image row, read from `images i`.
pub const IMAGE_COLUMNS: &str = "i.id, i.owner, i.name, i.status, i.visibility, i.protected, i.os_hidden, \
     i.container_format, i.disk_format, i.min_disk, i.min_ram, i.size, i.virtual_size, i.checksum, \
     i.created_at, i.updated_at";

/// The image rows of the subquery `p` (selecting `IMAGE_COLUMNS` under their own names), each with its tags
/// (keys and values, in key order) and properties (names and values), in one statement: four arrays after the
/// image columns, `NULL` when empty.
pub fn with_details(rows: &str, order: &str) -> String {
    format!(
        "SELECT p.id, p.owner, p.name, p.status, p.visibility, p.protected, p.os_hidden, p.container_format, \
         p.disk_format, p.min_disk, p.min_ram, p.size, p.virtual_size, p.checksum, p.created_at, p.updated_at, \
         tg.keys, tg.vals, pr.names, pr.vals \
         FROM ({rows}) AS p \
         LEFT JOIN LATERAL (SELECT array_agg(t.key ORDER BY t.key) AS keys, array_agg(t.value ORDER BY t.key) AS vals \
             FROM image_tags t WHERE t.owner = p.owner AND t.image_id = p.id) AS tg ON true \
         LEFT JOIN LATERAL (SELECT array_agg(q.name ORDER BY q.name) AS names, array_agg(q.value ORDER BY q.name) AS vals \
             FROM image_properties q WHERE q.owner = p.owner AND q.image_id = p.id) AS pr ON true \
         {order}"
    )
}

/// A `WHERE` clause under construction: conditions joined by `AND`, their parameters in the statement's list.
pub struct Where<'p> {
    conditions: Vec<String>,
    params: &'p mut Params,
    arm: Arm,
    project: String,
}

impl<'p> Where<'p> {
    /// The images of one arm for `project`.
    pub fn arm(arm: Arm, project: &str, params: &'p mut Params) -> Where<'p> {
        let mut w = Where { conditions: Vec::new(), params, arm, project: project.to_owned() };
        let owner = w.params.push(Param::Text(project.to_owned()));
        match arm {
            Arm::Owned => w.conditions.push(format!("i.owner = {owner}")),
            Arm::PublicOthers => w
                .conditions
                .push(format!("i.visibility = '{}' AND i.owner <> {owner}", Visibility::Public.as_str())),
        }
        w
    }

    /// The clause text.
    pub fn sql(&self) -> String {
        self.conditions.join(" AND ")
    }

    /// Whether any condition beyond the arm itself was added.
    pub fn filters_images(&self) -> bool {
        self.conditions.len() > 1
    }

    fn text(&mut self, value: &str) -> String {
        self.params.push(Param::Text(value.to_owned()))
    }

    /// `column = $n` for an id given as text: an id that is not a UUID in its canonical (lower-case,
    /// hyphenated) form matches nothing, as with a text comparison.
    fn id_equals(&mut self, column: &str, id: &str) {
        match Uuid::parse_str(id) {
            Ok(uuid) if uuid.to_string() == id => {
                let p = self.params.push(Param::Uuid(uuid));
                self.conditions.push(format!("{column} = {p}"));
            }
            _ => self.conditions.push("false".to_owned()),
        }
    }

    /// `(t.key = $k AND t.value = ANY($v)) OR ...`: a tag row matches one of the conditions.
    fn any_of(&mut self, conditions: &[TagCondition]) -> String {
        let parts: Vec<String> = conditions
            .iter()
            .map(|c| {
                let key = self.text(&c.key);
                if c.values.is_empty() {
                    format!("t.key = {key}")
                } else {
                    let values = self.params.push(Param::Texts(c.values.clone()));
                    format!("(t.key = {key} AND t.value = ANY({values}))")
                }
            })
            .collect();
        format!("({})", parts.join(" OR "))
    }

    /// How many of the image's tags match one of the conditions: one probe of the tags' primary key for each
    /// candidate image. The conditions name distinct keys and an image holds a key once, so the image meets
    /// all of them exactly when the count equals their number; one subquery for the whole list keeps the
    /// plan small however long the list (an `EXISTS` for each would be one more join for the planner each).
    fn matching_tags(&mut self, conditions: &[TagCondition]) -> String {
        format!(
            "(SELECT COUNT(*) FROM image_tags t WHERE t.owner = i.owner AND t.image_id = i.id AND {})",
            self.any_of(conditions)
        )
    }

    /// The image holds every condition (distinct keys). In the owned arm the first `JOINED_CONDITIONS` are
    /// each the set of images read from the owner-first tag index (semi-joins: the planner drives from the
    /// most selective); the others, and all of them in the other arm (public images are few), are counted for
    /// each candidate.
    fn having_all(&mut self, conditions: &[TagCondition]) {
        let counted = match self.arm {
            Arm::Owned => {
                let (joined, counted) = conditions.split_at(conditions.len().min(JOINED_CONDITIONS));
                for condition in joined {
                    let owner = self.params.push(Param::Text(self.project.clone()));
                    let key = self.text(&condition.key);
                    let mut sql = format!(
                        "i.id IN (SELECT t.image_id FROM image_tags t WHERE t.owner = {owner} AND t.key = {key}"
                    );
                    if !condition.values.is_empty() {
                        let values = self.params.push(Param::Texts(condition.values.clone()));
                        sql.push_str(&format!(" AND t.value = ANY({values})"));
                    }
                    sql.push(')');
                    self.conditions.push(sql);
                }
                counted
            }
            Arm::PublicOthers => conditions,
        };
        self.counted_all(counted);
    }

    /// The image holds every condition (distinct keys), counted for each candidate image.
    fn counted_all(&mut self, conditions: &[TagCondition]) {
        if !conditions.is_empty() {
            let count = self.matching_tags(conditions);
            self.conditions.push(format!("{count} = {}", conditions.len()));
        }
    }

    /// Exact `(key, value)` pairs (or `(name, value)` properties) the image must all hold: duplicates
    /// collapse, and two values for one key can never all hold.
    fn exact_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Option<BTreeMap<String, String>> {
        let mut wanted = BTreeMap::new();
        for (key, value) in pairs {
            match wanted.get(&key) {
                Some(existing) if *existing != value => return None,
                _ => {
                    wanted.insert(key, value);
                }
            }
        }
        Some(wanted)
    }

    /// Adds the conditions of an image filter; the caller's project is the arm's, for `__imagetype=private`.
    pub fn filter(mut self, filter: &ImageFilter) -> Where<'p> {
        if let Some(id) = &filter.id {
            self.id_equals("i.id", id);
        }
        for (column, value) in [
            ("i.name", &filter.name),
            ("i.status", &filter.status),
            ("i.owner", &filter.owner),
            ("i.container_format", &filter.container_format),
            ("i.disk_format", &filter.disk_format),
        ] {
            if let Some(v) = value {
                let p = self.text(v);
                self.conditions.push(format!("{column} = {p}"));
            }
        }
        if let Some(v) = filter.visibility {
            let p = self.text(v.as_str());
            self.conditions.push(format!("i.visibility = {p}"));
        }
        for (column, value) in [("i.min_disk", filter.min_disk), ("i.min_ram", filter.min_ram)] {
            if let Some(v) = value {
                let p = self.params.push(Param::Int(v));
                self.conditions.push(format!("{column} = {p}"));
            }
        }
        for (column, value) in [("i.protected", filter.protected), ("i.os_hidden", filter.os_hidden)] {
            if let Some(v) = value {
                let p = self.params.push(Param::Bool(v));
                self.conditions.push(format!("{column} = {p}"));
            }
        }
        match filter.image_type {
            None => {}
            Some(ImageType::Gold) => {
                self.conditions.push(format!("i.visibility = '{}'", Visibility::Public.as_str()))
            }
            Some(ImageType::Private) => {
                let p = self.text(&self.project.clone());
                self.conditions.push(format!("i.owner = {p}"));
            }
            Some(ImageType::None) => self.conditions.push("false".to_owned()),
        }
        for (column, condition) in [("i.created_at", filter.created_at), ("i.updated_at", filter.updated_at)]
        {
            if let Some(c) = condition {
                let p = self.params.push(Param::Int(c.at));
                self.conditions.push(format!("{column} {} {p}", super::super::sql::comparison(c.op)));
            }
        }
        if !filter.properties.is_empty() {
            match Self::exact_pairs(filter.properties.iter().cloned()) {
                None => self.conditions.push("false".to_owned()),
                Some(wanted) => {
                    // As with tags: the first few joined in the owned arm, the rest counted per image.
                    let mut joined: Vec<(String, String)> = wanted.into_iter().collect();
                    let rest = joined.split_off(if self.arm == Arm::Owned {
                        joined.len().min(JOINED_CONDITIONS)
                    } else {
                        0
                    });
                    for (name, value) in joined {
                        let owner = self.params.push(Param::Text(self.project.clone()));
                        let (name, value) = (self.text(&name), self.text(&value));
                        self.conditions.push(format!(
                            "i.id IN (SELECT q.image_id FROM image_properties q WHERE q.owner = {owner} \
                             AND q.name = {name} AND q.value = {value})"
                        ));
                    }
                    if !rest.is_empty() {
                        let count = rest.len();
                        let (names, values): (Vec<String>, Vec<String>) = rest.into_iter().unzip();
                        let names = self.params.push(Param::Texts(names));
                        let values = self.params.push(Param::Texts(values));
                        self.conditions.push(format!(
                            "(SELECT COUNT(*) FROM image_properties q WHERE q.owner = i.owner AND q.image_id = i.id \
                             AND (q.name, q.value) IN (SELECT * FROM unnest({names}::text[], {values}::text[]))) \
                             = {count}"
                        ));
                    }
                }
            }
        }
        if !filter.tags.is_empty() {
            match Self::exact_pairs(filter.tags.iter().map(|t| (t.key.clone(), t.value.clone()))) {
                None => self.conditions.push("false".to_owned()),
                Some(wanted) => {
                    let conditions: Vec<TagCondition> = wanted
                        .into_iter()
                        .map(|(key, value)| TagCondition { key, values: vec![value] })
                        .collect();
                    self.having_all(&conditions);
                }
            }
        }
        self
    }

    /// Adds the conditions of an op 5 tag query (keys are unique within each list).
    pub fn tag_query(mut self, query: &TagQuery) -> Where<'p> {
        match &query.name {
            None => {}
            Some(NameMatch::Contains(needle)) => {
                let p = self.text(needle);
                self.conditions.push(format!("strpos(i.name_folded, {p}) > 0"));
            }
            Some(NameMatch::Empty) => self.conditions.push("COALESCE(i.name, '') = ''".to_owned()),
        }
        if let Some(id) = &query.id {
            self.id_equals("i.id", id);
        }
        if query.untagged {
            self.conditions.push(
                "NOT EXISTS (SELECT 1 FROM image_tags t WHERE t.owner = i.owner AND t.image_id = i.id)"
                    .to_owned(),
            );
            return self;
        }
        self.having_all(&query.all);
        if !query.any.is_empty() {
            let any = self.any_of(&query.any);
            self.conditions.push(format!(
                "EXISTS (SELECT 1 FROM image_tags t WHERE t.owner = i.owner AND t.image_id = i.id AND {any})"
            ));
        }
        if !query.not_all.is_empty() {
            let count = self.matching_tags(&query.not_all);
            self.conditions.push(format!("{count} < {}", query.not_all.len()));
        }
        if !query.not_any.is_empty() {
            let any = self.any_of(&query.not_any);
            self.conditions.push(format!(
                "NOT EXISTS (SELECT 1 FROM image_tags t WHERE t.owner = i.owner AND t.image_id = i.id AND {any})"
            ));
        }
        self
    }

    /// Adds the keyset condition of a `GET /v2/images` page: rows after the marker's `(sort value, id)`.
    pub fn after(mut self, query: &ImageListQuery, marker_sort_value: Param, marker_id: Uuid) -> Where<'p> {
        let op = if query.ascending { ">" } else { "<" };
        let value = self.params.push(marker_sort_value);
        let id = self.params.push(Param::Uuid(marker_id));
        self.conditions.push(format!("({}, i.id) {op} ({value}, {id})", sort_expression(query.sort_key)));
        self
    }
}

/// The op 5 total straight from the owner-first tag index, for queries made of tag conditions only (at least
/// one in `tags`, no `matches`, not `without_any_tag`): the first `tags` entry lists the candidate images
/// (each image holds a key once, so there are no duplicates), the next ones are semi-joins on the same index
/// and the others check each candidate, without reading the images table. `None` for other queries.
pub fn tag_only_count(project: &str, query: &TagQuery, params: &mut Params) -> Option<String> {
    let (first, rest) = query.all.split_first()?;
    if query.name.is_some() || query.id.is_some() || query.untagged {
        return None;
    }
    let owner = params.push(Param::Text(project.to_owned()));
    let key = params.push(Param::Text(first.key.clone()));
    let mut driver = format!("d.owner = {owner} AND d.key = {key}");
    if !first.values.is_empty() {
        let values = params.push(Param::Texts(first.values.clone()));
        driver.push_str(&format!(" AND d.value = ANY({values})"));
    }
    let mut checks = Where::arm(Arm::Owned, project, params);
    checks.having_all(rest);
    let checks = checks.tag_query(&TagQuery { all: Vec::new(), ..query.clone() }).sql();
    Some(format!(
        "SELECT COUNT(*) FROM (SELECT d.owner AS owner, d.image_id AS id FROM image_tags d WHERE {driver}) AS i \
         WHERE {checks}"
    ))
}

/// The sort expression of a sort key; nullable columns are coalesced so that keyset comparisons are total.
pub fn sort_expression(key: SortKey) -> &'static str {
    match key {
        SortKey::Name => "COALESCE(i.name, '')",
        SortKey::Status => "i.status",
        SortKey::ContainerFormat => "COALESCE(i.container_format, '')",
        SortKey::DiskFormat => "COALESCE(i.disk_format, '')",
        SortKey::Size => "COALESCE(i.size, -1)",
        SortKey::Id => "i.id",
        SortKey::CreatedAt => "i.created_at",
        SortKey::UpdatedAt => "i.updated_at",
    }
}

/// The direction keyword of a list query.
pub fn direction(query: &ImageListQuery) -> &'static str {
    if query.ascending { "ASC" } else { "DESC" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(k: &str, v: &[&str]) -> TagCondition {
        TagCondition { key: k.into(), values: v.iter().map(|s| s.to_string()).collect() }
    }

    /// Placeholders are numbered across the statement and match the parameters one to one.
    fn placeholders_match(sql: &str, params: &Params) {
        let count = params.typed().len();
        for n in 1..=count {
            assert!(sql.contains(&format!("${n}")), "${n} in {sql}");
        }
        assert!(!sql.contains(&format!("${}", count + 1)), "{sql}");
    }

    #[test]
    fn tag_query_sql_has_one_param_per_placeholder() {
        let q = TagQuery {
            all: vec![c("a", &["1", "2"])],
            any: vec![c("b", &[]), c("c", &["3"])],
            not_all: vec![c("d", &[])],
            not_any: vec![c("e", &["4"])],
            name: Some(NameMatch::Contains("x".into())),
            id: Some("00000000-0000-4000-8000-000000000001".into()),
            untagged: false,
        };
        for arm in ARMS {
            let mut params = Params::default();
            let sql = Where::arm(arm, "p", &mut params).tag_query(&q).sql();
            placeholders_match(&sql, &params);
            assert!(sql.contains("NOT EXISTS"), "{sql}");
        }
        let mut params = Params::default();
        assert!(
            Where::arm(Arm::Owned, "p", &mut params)
                .tag_query(&q)
                .sql()
                .contains("i.id IN (SELECT t.image_id"),
            "the owned arm reads the owner-first index"
        );
        let mut params = Params::default();
        let tags_only = TagQuery { name: None, id: None, ..q.clone() };
        let sql = tag_only_count("p", &tags_only, &mut params).expect("tag conditions only");
        placeholders_match(&sql, &params);
        assert!(!sql.contains("FROM images"), "{sql}");
        assert!(tag_only_count("p", &q, &mut Params::default()).is_none(), "not with matches");
    }

    #[test]
    fn ids_that_are_not_canonical_uuids_match_nothing() {
        for id in ["nope", "00000000-0000-4000-8000-00000000000A", "00000000000040008000000000000001"] {
            let mut params = Params::default();
            let filter = ImageFilter { id: Some(id.into()), ..ImageFilter::default() };
            let sql = Where::arm(Arm::Owned, "p", &mut params).filter(&filter).sql();
            assert!(sql.ends_with("AND false"), "{id}: {sql}");
        }
    }
}

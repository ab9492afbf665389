//! SQL text for the queries whose shape depends on the request (image filters, tag queries, keyset pages),
//! written once for every SQL store: `?` placeholders with their parameters in order, and standard SQL.
//!
//! What a project can see is split into two disjoint arms, its own images and other projects' public images,
//! each answered from its own index and combined with `UNION ALL`: an `OR` across the two would make the
//! database scan every image.

use crate::domain::image::Visibility;
use crate::domain::query::image_filter::{ImageFilter, ImageType, TimeOp};
use crate::domain::query::image_list::{ImageListQuery, SortKey};
use crate::domain::query::tag_query::{NameMatch, TagCondition, TagQuery};

/// A query parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Param {
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
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

/// A `WHERE` clause under construction: conditions joined by `AND`, with their parameters.
#[derive(Debug, Default)]
pub struct Where {
    conditions: Vec<String>,
    /// The parameters, in placeholder order.
    pub params: Vec<Param>,
    arm: Option<(Arm, String)>,
}

impl Where {
    fn push(&mut self, condition: String, params: impl IntoIterator<Item = Param>) {
        self.conditions.push(condition);
        self.params.extend(params);
    }

    /// The clause text (`1=1` when there are no conditions).
    pub fn sql(&self) -> String {
        if self.conditions.is_empty() { "1=1".to_owned() } else { self.conditions.join(" AND ") }
    }

    /// Whether any condition beyond the arm itself was added.
    pub fn filters_images(&self) -> bool {
        self.conditions.len() > 1
    }

    /// The images of one arm for `project`.
    pub fn arm(arm: Arm, project: &str) -> Where {
        let mut w = Where { arm: Some((arm, project.to_owned())), ..Where::default() };
        match arm {
            Arm::Owned => w.push("i.owner = ?".to_owned(), [Param::Text(project.to_owned())]),
            Arm::PublicOthers => w.push(
                format!("i.visibility = '{}' AND i.owner <> ?", Visibility::Public.as_str()),
                [Param::Text(project.to_owned())],
            ),
        }
        w
    }

    /// `i.id IN (...)` the images holding `key` with one of `values` (any value when empty), answered from
    /// the owner-first tag index in the owned arm and the key-first one otherwise.
    fn having_tag(&mut self, key: &str, values: &[String]) {
        let mut params = Vec::new();
        let mut sql = "i.id IN (SELECT t.image_id FROM image_tags t WHERE ".to_owned();
        if let Some((Arm::Owned, project)) = &self.arm {
            sql.push_str("t.owner = ? AND ");
            params.push(Param::Text(project.clone()));
        }
        sql.push_str("t.key = ?");
        params.push(Param::Text(key.to_owned()));
        if !values.is_empty() {
            sql.push_str(&format!(" AND t.value IN {}", placeholders(values.len())));
            params.extend(values.iter().cloned().map(Param::Text));
        }
        sql.push(')');
        self.push(sql, params);
    }

    /// Adds the conditions of an image filter; `project` is the caller's, for `__imagetype=private`.
    pub fn filter(mut self, filter: &ImageFilter, project: &str) -> Where {
        let text = |v: &String| Param::Text(v.clone());
        for (column, value) in [
            ("i.id", &filter.id),
            ("i.name", &filter.name),
            ("i.status", &filter.status),
            ("i.owner", &filter.owner),
            ("i.container_format", &filter.container_format),
            ("i.disk_format", &filter.disk_format),
        ] {
            if let Some(v) = value {
                self.push(format!("{column} = ?"), [text(v)]);
            }
        }
        if let Some(v) = filter.visibility {
            self.push("i.visibility = ?".to_owned(), [Param::Text(v.as_str().to_owned())]);
        }
        for (column, value) in [("i.min_disk", filter.min_disk), ("i.min_ram", filter.min_ram)] {
            if let Some(v) = value {
                self.push(format!("{column} = ?"), [Param::Int(v)]);
            }
        }
        for (column, value) in [("i.protected", filter.protected), ("i.os_hidden", filter.os_hidden)] {
            if let Some(v) = value {
                self.push(format!("{column} = ?"), [Param::Int(i64::from(v))]);
            }
        }
        match filter.image_type {
            None => {}
            Some(ImageType::Gold) => {
                self.push(format!("i.visibility = '{}'", Visibility::Public.as_str()), [])
            }
            Some(ImageType::Private) => {
                self.push("i.owner = ?".to_owned(), [Param::Text(project.to_owned())])
            }
            Some(ImageType::None) => self.push("1=0".to_owned(), []),
        }
        for (column, condition) in [("i.created_at", filter.created_at), ("i.updated_at", filter.updated_at)]
        {
            if let Some(c) = condition {
                self.push(format!("{column} {} ?", comparison(c.op)), [Param::Int(c.at)]);
            }
        }
        for (name, value) in &filter.properties {
            self.push(
                "EXISTS (SELECT 1 FROM image_properties p WHERE p.image_id = i.id AND p.name = ? AND p.value = ?)"
                    .to_owned(),
                [text(name), text(value)],
            );
        }
        for tag in &filter.tags {
            self.having_tag(&tag.key, std::slice::from_ref(&tag.value));
        }
        self
    }

    /// Adds the conditions of an op 5 tag query.
    pub fn tag_query(mut self, query: &TagQuery) -> Where {
        match &query.name {
            None => {}
            Some(NameMatch::Contains(needle)) => {
                self.push("instr(i.name_folded, ?) > 0".to_owned(), [Param::Text(needle.clone())])
            }
            Some(NameMatch::Empty) => self.push("COALESCE(i.name, '') = ''".to_owned(), []),
        }
        if let Some(id) = &query.id {
            self.push("i.id = ?".to_owned(), [Param::Text(id.clone())]);
        }
        if query.untagged {
            self.push("NOT EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id)".to_owned(), []);
            return self;
        }
        for c in &query.all {
            self.having_tag(&c.key, &c.values);
        }
        for (list, join, negate) in
            [(&query.any, " OR ", false), (&query.not_all, " AND ", true), (&query.not_any, " OR ", true)]
        {
            if list.is_empty() {
                continue;
            }
            let mut parts = Vec::new();
            let mut params = Vec::new();
            for c in list {
                let (sql, p) = exists(c);
                parts.push(sql);
                params.extend(p);
            }
            let joined = format!("({})", parts.join(join));
            self.push(if negate { format!("NOT {joined}") } else { joined }, params);
        }
        self
    }

    /// Adds the keyset condition of a `GET /v2/images` page: rows after the marker's `(sort value, id)`.
    pub fn after(mut self, query: &ImageListQuery, marker_sort_value: Param, marker_id: String) -> Where {
        let op = if query.ascending { ">" } else { "<" };
        self.push(
            format!("({}, i.id) {op} (?, ?)", sort_expression(query.sort_key)),
            [marker_sort_value, Param::Text(marker_id)],
        );
        self
    }
}

/// The op 5 total straight from the owner-first tag index, for queries made of tag conditions only (at least
/// one in `tags`, no `matches`, not `without_any_tag`): the first `tags` entry lists the candidate images
/// (each image holds a key once, so there are no duplicates) and the other conditions check each candidate,
/// without reading the images table. `None` for other queries.
pub fn tag_only_count(project: &str, query: &TagQuery) -> Option<(String, Vec<Param>)> {
    let (first, rest) = query.all.split_first()?;
    if query.name.is_some() || query.id.is_some() || query.untagged {
        return None;
    }
    let mut driver = Where::default();
    driver.push("d.owner = ?".to_owned(), [Param::Text(project.to_owned())]);
    driver.push("d.key = ?".to_owned(), [Param::Text(first.key.clone())]);
    if !first.values.is_empty() {
        driver.push(
            format!("d.value IN {}", placeholders(first.values.len())),
            first.values.iter().cloned().map(Param::Text),
        );
    }
    let others = TagQuery { all: rest.to_vec(), ..query.clone() };
    let checks = Where { arm: Some((Arm::Owned, project.to_owned())), ..Where::default() }.tag_query(&others);
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT d.image_id AS id FROM image_tags d WHERE {}) AS i WHERE {}",
        driver.sql(),
        checks.sql()
    );
    let mut params = driver.params;
    params.extend(checks.params);
    Some((sql, params))
}

/// `EXISTS (...)` the image holds the condition's key with one of its values; answered by the primary key
/// `(image_id, key)` for each candidate image.
fn exists(c: &TagCondition) -> (String, Vec<Param>) {
    let mut params = vec![Param::Text(c.key.clone())];
    let mut sql = "EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id AND t.key = ?".to_owned();
    if !c.values.is_empty() {
        sql.push_str(&format!(" AND t.value IN {}", placeholders(c.values.len())));
        params.extend(c.values.iter().cloned().map(Param::Text));
    }
    sql.push(')');
    (sql, params)
}

/// Combines one `SELECT` per arm with `combine` (`UNION ALL`, or `UNION` to drop duplicates); `select(arm)`
/// gives the text and parameters of each.
pub fn union_of_arms(
    combine: &str,
    mut select: impl FnMut(Arm) -> (String, Vec<Param>),
) -> (String, Vec<Param>) {
    let mut parts = Vec::new();
    let mut params = Vec::new();
    for arm in ARMS {
        let (sql, p) = select(arm);
        parts.push(format!("SELECT * FROM ({sql}) AS arm_{}", parts.len()));
        params.extend(p);
    }
    (parts.join(&format!(" {combine} ")), params)
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

/// The SQL operator of a time comparison.
pub fn comparison(op: TimeOp) -> &'static str {
    match op {
        TimeOp::Gt => ">",
        TimeOp::Gte => ">=",
        TimeOp::Lt => "<",
        TimeOp::Lte => "<=",
        TimeOp::Eq => "=",
        TimeOp::Neq => "<>",
    }
}

/// The direction keyword of a list query.
pub fn direction(query: &ImageListQuery) -> &'static str {
    if query.ascending { "ASC" } else { "DESC" }
}

/// `(?, ?, ...)` with `n` placeholders.
pub fn placeholders(n: usize) -> String {
    format!("({})", vec!["?"; n].join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::query::tag_query::TagCondition;

    #[test]
    fn tag_query_sql_has_one_param_per_placeholder() {
        let c = |k: &str, v: &[&str]| TagCondition {
            key: k.into(),
            values: v.iter().map(|s| s.to_string()).collect(),
        };
        let q = TagQuery {
            all: vec![c("a", &["1", "2"])],
            any: vec![c("b", &[]), c("c", &["3"])],
            not_all: vec![c("d", &[])],
            not_any: vec![c("e", &["4"])],
            name: Some(NameMatch::Contains("x".into())),
            id: Some("id".into()),
            untagged: false,
        };
        for arm in ARMS {
            let w = Where::arm(arm, "p").tag_query(&q);
            assert_eq!(w.sql().matches('?').count(), w.params.len(), "{arm:?}");
            assert!(w.sql().contains("NOT (EXISTS"));
        }
        assert!(
            Where::arm(Arm::Owned, "p").tag_query(&q).sql().contains("t.owner = ?"),
            "owned arm uses the owner index"
        );
    }

    #[test]
    fn tag_only_counts_apply_to_tag_conditions_only() {
        let c = |k: &str, v: &[&str]| TagCondition {
            key: k.into(),
            values: v.iter().map(|s| s.to_string()).collect(),
        };
        let q = TagQuery {
            all: vec![c("a", &["1"]), c("b", &[])],
            not_any: vec![c("x", &[])],
            ..TagQuery::default()
        };
        let (sql, params) = tag_only_count("p", &q).expect("tag conditions only");
        assert_eq!(sql.matches('?').count(), params.len());
        assert!(!sql.contains("FROM images"), "{sql}");
        assert!(tag_only_count("p", &TagQuery { all: vec![], ..q.clone() }).is_none());
        assert!(tag_only_count("p", &TagQuery { id: Some("i".into()), ..q.clone() }).is_none());
        assert!(tag_only_count("p", &TagQuery { untagged: true, ..q }).is_none());
    }

    #[test]
    fn the_arms_are_disjoint() {
        assert_eq!(Where::arm(Arm::Owned, "p").sql(), "i.owner = ?");
        assert_eq!(Where::arm(Arm::PublicOthers, "p").sql(), "i.visibility = 'public' AND i.owner <> ?");
        assert!(!Where::arm(Arm::Owned, "p").filters_images());
        assert!(
            Where::arm(Arm::Owned, "p")
                .filter(&ImageFilter { name: Some("n".into()), ..Default::default() }, "p")
                .filters_images()
        );
    }
}

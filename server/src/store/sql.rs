//! SQL text for the queries whose shape depends on the request (image filters, tag queries, keyset pages),
//! written once for every SQL store: `?` placeholders with their parameters in order, and the standard SQL
//! that SQLite and PostgreSQL share.

use crate::domain::image::Visibility;
use crate::domain::query::{
    ImageFilter, ImageListQuery, ImageType, NameMatch, SortKey, TagCondition, TagQuery,
};

/// A query parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Param {
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
}

/// A `WHERE` clause under construction: conditions joined by `AND`, with their parameters.
#[derive(Debug, Default)]
pub struct Where {
    conditions: Vec<String>,
    /// The parameters, in placeholder order.
    pub params: Vec<Param>,
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

    /// Images the project can see: owned or public.
    pub fn visible_to(project: &str) -> Where {
        let mut w = Where::default();
        w.push(
            format!("(i.owner = ? OR i.visibility = '{}')", Visibility::Public.as_str()),
            [Param::Text(project.to_owned())],
        );
        w
    }

    /// Images the project owns.
    pub fn owned_by(project: &str) -> Where {
        let mut w = Where::default();
        w.push("i.owner = ?".to_owned(), [Param::Text(project.to_owned())]);
        w
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
                self.push(format!("{column} {} ?", c.op.sql()), [Param::Int(c.at)]);
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
            self.push(
                "EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id AND t.key = ? AND t.value = ?)"
                    .to_owned(),
                [text(&tag.key), text(&tag.value)],
            );
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
            let (sql, params) = condition(c, "i.id IN (SELECT t.image_id FROM image_tags t WHERE ", ")");
            self.push(sql, params);
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
                let (sql, p) =
                    condition(c, "EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id AND ", ")");
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

/// `key = ? [AND value IN (?, ...)]` for one tag condition, wrapped in `prefix` and `suffix`.
fn condition(c: &TagCondition, prefix: &str, suffix: &str) -> (String, Vec<Param>) {
    let mut params = vec![Param::Text(c.key.clone())];
    let mut sql = format!("{prefix}t.key = ?");
    if !c.values.is_empty() {
        sql.push_str(" AND t.value IN (");
        sql.push_str(&vec!["?"; c.values.len()].join(", "));
        sql.push(')');
        params.extend(c.values.iter().cloned().map(Param::Text));
    }
    sql.push_str(suffix);
    (sql, params)
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

/// `ORDER BY` for a `GET /v2/images` page.
pub fn list_order(query: &ImageListQuery) -> String {
    let dir = if query.ascending { "ASC" } else { "DESC" };
    format!("{} {dir}, i.id {dir}", sort_expression(query.sort_key))
}

/// `(?, ?, ...)` with `n` placeholders.
pub fn placeholders(n: usize) -> String {
    format!("({})", vec!["?"; n].join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::query::TagCondition;

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
        let w = Where::owned_by("p").tag_query(&q);
        assert_eq!(w.sql().matches('?').count(), w.params.len());
        assert!(w.sql().contains("NOT (EXISTS"));
    }
}

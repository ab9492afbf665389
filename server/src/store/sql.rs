//! The SQL text of the queries whose shape depends on the request (image filters, tag queries, keyset pages),
//! built once for both stores and written in each one's [`Dialect`].
//!
//! What a project can see is split into two disjoint arms, its own images and other projects' public images,
//! each answered from its own index and combined with `UNION ALL`: an `OR` across the two would make the
//! database scan every image.
//!
//! The dialects differ in syntax (placeholders, lists of values, the substring function), in how the rows of
//! an image are joined (PostgreSQL's keys lead with the owner), and in one shape their planners need: lists
//! of tag conditions and property filters. On SQLite each condition is a subquery of its own; on PostgreSQL,
//! whose planning time grows fast with the number of joins, at most four conditions of a list are joined and
//! the others are counted by one subquery (`Dialect::joined_conditions`); the two shapes are side by side
//! in `Where::tag_lists` and `Where::properties`.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::domain::image::Visibility;
use crate::domain::query::image_filter::{ImageFilter, ImageType, TimeOp};
use crate::domain::query::image_list::{ImageListQuery, SortKey};
use crate::domain::query::tag_query::{NameMatch, Page, TagCondition, TagQuery};

/// The SQL a store speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `?` placeholders bound in order, `instr`, values listed one by one, tag rows keyed by image id.
    Sqlite,
    /// `$n` placeholders numbered across the statement with typed parameters, `strpos`, a list of values as
    /// one array parameter (so that the number of placeholders does not grow with it), every row keyed by its
    /// owner first.
    Postgres,
}

impl Dialect {
    /// The placeholder of the `n`th parameter (from 1).
    fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => "?".to_owned(),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// `needle` occurs in `haystack`.
    fn contains(self, haystack: &str, needle: &str) -> String {
        match self {
            Dialect::Sqlite => format!("instr({haystack}, {needle}) > 0"),
            Dialect::Postgres => format!("strpos({haystack}, {needle}) > 0"),
        }
    }

    /// A condition no row meets.
    fn never(self) -> &'static str {
        match self {
            Dialect::Sqlite => "1=0",
            Dialect::Postgres => "false",
        }
    }

    /// The rows of a tag or property table (alias `table`) that belong to the image `i`: by image id on
    /// SQLite, by owner and image id (the leading columns of the primary key) on PostgreSQL.
    fn of_image(self, table: &str) -> String {
        match self {
            Dialect::Sqlite => format!("{table}.image_id = i.id"),
            Dialect::Postgres => format!("{table}.owner = i.owner AND {table}.image_id = i.id"),
        }
    }

    /// How many conditions of a list the image must all meet (tags, or exact properties) become semi-joins
    /// on an index, each the set of images having it; the others are counted for each candidate image. SQLite
    /// joins them all. PostgreSQL joins at most four in the owned arm (the planner then drives from the most
    /// selective, and its planning time grows fast with more), and none among public images (they are few).
    fn joined_conditions(self, arm: Arm) -> usize {
        match (self, arm) {
            (Dialect::Sqlite, _) => usize::MAX,
            (Dialect::Postgres, Arm::Owned) => 4,
            (Dialect::Postgres, Arm::PublicOthers) => 0,
        }
    }

    /// The tag rows (alias `table`) of public images: the condition of the public tag index, written as that
    /// index's own `WHERE` (SQLite uses a partial index only for a query that repeats its condition).
    fn public_tag(self, table: &str) -> String {
        match self {
            Dialect::Sqlite => format!("{table}.is_public = 1"),
            Dialect::Postgres => format!("{table}.is_public"),
        }
    }

    /// Whether conditions may be counted, which needs distinct keys (see [`Where::required_pairs`]).
    fn counts_conditions(self) -> bool {
        self == Dialect::Postgres
    }
}

/// A query parameter. SQLite binds booleans as 0 and 1 and ids as text, and never receives a list (its
/// lists are written one placeholder per value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Param {
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// An image id.
    Uuid(Uuid),
    /// A list of texts (PostgreSQL `text[]`).
    Texts(Vec<String>),
}

/// The parameters of one statement; each `push` gives the placeholder of the value.
#[derive(Debug)]
pub struct Params {
    dialect: Dialect,
    values: Vec<Param>,
}

impl Params {
    /// No parameters yet, for a statement in `dialect`.
    pub fn new(dialect: Dialect) -> Params {
        Params { dialect, values: Vec::new() }
    }

    /// Adds a parameter; returns its placeholder.
    pub fn push(&mut self, param: Param) -> String {
        self.values.push(param);
        self.dialect.placeholder(self.values.len())
    }

    /// The parameters, in placeholder order.
    pub fn values(&self) -> &[Param] {
        &self.values
    }

    fn text(&mut self, value: &str) -> String {
        self.push(Param::Text(value.to_owned()))
    }

    /// `column` holds one of `values`: `column IN (?, ?, ...)`, or `column = ANY($n)`.
    fn one_of(&mut self, column: &str, values: &[String]) -> String {
        match self.dialect {
            Dialect::Sqlite => {
                let marks: Vec<String> = values.iter().map(|v| self.text(v)).collect();
                format!("{column} IN ({})", marks.join(", "))
            }
            Dialect::Postgres => {
                let list = self.push(Param::Texts(values.to_vec()));
                format!("{column} = ANY({list})")
            }
        }
    }

    /// A tag row (alias `table`) has the condition's key and one of its values (any value when there are
    /// none): the one tag-condition predicate every shape below is built from.
    fn has_tag(&mut self, table: &str, condition: &TagCondition) -> String {
        let key = self.text(&condition.key);
        if condition.values.is_empty() {
            format!("{table}.key = {key}")
        } else {
            format!("{table}.key = {key} AND {}", self.one_of(&format!("{table}.value"), &condition.values))
        }
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
        let mut w = Where::unconditioned(arm, project, params);
        let owner = w.params.text(project);
        w.conditions.push(match arm {
            Arm::Owned => format!("i.owner = {owner}"),
            Arm::PublicOthers => {
                format!("i.visibility = '{}' AND i.owner <> {owner}", Visibility::Public.as_str())
            }
        });
        w
    }

    /// Conditions on images of one arm that are already selected otherwise (the candidates of
    /// [`tag_candidates`]), without the arm's own condition.
    fn unconditioned(arm: Arm, project: &str, params: &'p mut Params) -> Where<'p> {
        Where { conditions: Vec::new(), params, arm, project: project.to_owned() }
    }

    /// The clause text (`1=1` when there are no conditions).
    pub fn sql(&self) -> String {
        if self.conditions.is_empty() { "1=1".to_owned() } else { self.conditions.join(" AND ") }
    }

    /// Whether any condition beyond the arm itself was added.
    pub fn filters_images(&self) -> bool {
        self.conditions.len() > 1
    }

    fn dialect(&self) -> Dialect {
        self.params.dialect
    }

    fn never(&mut self) {
        self.conditions.push(self.dialect().never().to_owned());
    }

    /// `column = <id>` for an id given as text: an id that is not a UUID in its canonical (lower-case,
    /// hyphenated) form, as ids are stored, matches nothing.
    fn id_equals(&mut self, column: &str, id: &str) {
        match Uuid::parse_str(id) {
            Ok(uuid) if uuid.to_string() == id => {
                let p = self.params.push(Param::Uuid(uuid));
                self.conditions.push(format!("{column} = {p}"));
            }
            _ => self.never(),
        }
    }

    /// `i.id IN (...)` the images holding the condition, read from the tag index that leads with the owner in
    /// the owned arm and from the key-first one otherwise.
    fn in_tag_index(&mut self, condition: &TagCondition) -> String {
        let owner = match self.arm {
            Arm::Owned => format!("t.owner = {} AND ", self.params.text(&self.project)),
            Arm::PublicOthers => String::new(),
        };
        let tag = self.params.has_tag("t", condition);
        format!("i.id IN (SELECT t.image_id FROM image_tags t WHERE {owner}{tag})")
    }

    /// `EXISTS (...)` a tag row of the image meets `predicate`.
    fn tag_exists(&self, predicate: &str) -> String {
        format!("EXISTS (SELECT 1 FROM image_tags t WHERE {} AND {predicate})", self.dialect().of_image("t"))
    }

    /// `(c1 OR c2 ...)`: a tag row meets one of the conditions.
    fn any_of(&mut self, conditions: &[TagCondition]) -> String {
        let parts: Vec<String> = conditions
            .iter()
            .map(|c| {
                let tag = self.params.has_tag("t", c);
                if c.values.is_empty() { tag } else { format!("({tag})") }
            })
            .collect();
        format!("({})", parts.join(" OR "))
    }

    /// How many of the image's tags meet one of the conditions: one probe of the tags' primary key for each
    /// candidate image. The conditions name distinct keys and an image holds a key once, so the image meets
    /// all of them exactly when the count equals their number; one subquery for the whole list keeps the
    /// plan small however long the list.
    fn matching_tags(&mut self, conditions: &[TagCondition]) -> String {
        let any = self.any_of(conditions);
        format!("(SELECT COUNT(*) FROM image_tags t WHERE {} AND {any})", self.dialect().of_image("t"))
    }

    /// The image holds every condition: the first [`Dialect::joined_conditions`] as sets of images from the
    /// tag index, the others counted for each candidate (distinct keys: see [`Where::required_pairs`]).
    fn having_all(&mut self, conditions: &[TagCondition]) {
        let joined = conditions.len().min(self.dialect().joined_conditions(self.arm));
        let (joined, counted) = conditions.split_at(joined);
        for condition in joined {
            let sql = self.in_tag_index(condition);
            self.conditions.push(sql);
        }
        if !counted.is_empty() {
            let count = self.matching_tags(counted);
            self.conditions.push(format!("{count} = {}", counted.len()));
        }
    }

    /// The `(key, value)` pairs an image must all hold, as the dialect's shape needs them: as given where
    /// each pair is a condition of its own; with distinct keys where pairs may be counted (a count equal to
    /// the number of pairs must mean every pair), `None` when one key is given two values (no image holds
    /// both).
    fn required_pairs(
        &self,
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Option<Vec<(String, String)>> {
        if !self.dialect().counts_conditions() {
            return Some(pairs.into_iter().collect());
        }
        let mut wanted = BTreeMap::new();
        for (key, value) in pairs {
            match wanted.get(&key) {
                Some(existing) if *existing != value => return None,
                _ => {
                    wanted.insert(key, value);
                }
            }
        }
        Some(wanted.into_iter().collect())
    }

    /// The image holds every extra property `(name, value)`.
    fn properties(&mut self, properties: &[(String, String)]) {
        let Some(pairs) = self.required_pairs(properties.iter().cloned()) else { return self.never() };
        match self.dialect() {
            // One correlated subquery per property, on the primary key `(image_id, name)`.
            Dialect::Sqlite => {
                for (name, value) in pairs {
                    let (name, value) = (self.params.text(&name), self.params.text(&value));
                    self.conditions.push(format!(
                        "EXISTS (SELECT 1 FROM image_properties p WHERE {} AND p.name = {name} AND p.value = {value})",
                        self.dialect().of_image("p")
                    ));
                }
            }
            // As with tags: the first few joined in the owned arm (sets of images from the owner-first
            // property index), the others counted for each candidate.
            Dialect::Postgres => {
                let joined = pairs.len().min(self.dialect().joined_conditions(self.arm));
                let (joined, counted) = pairs.split_at(joined);
                for (name, value) in joined {
                    let owner = self.params.text(&self.project);
                    let (name, value) = (self.params.text(name), self.params.text(value));
                    self.conditions.push(format!(
                        "i.id IN (SELECT q.image_id FROM image_properties q WHERE q.owner = {owner} \
                         AND q.name = {name} AND q.value = {value})"
                    ));
                }
                if !counted.is_empty() {
                    let (names, values): (Vec<String>, Vec<String>) = counted.iter().cloned().unzip();
                    let names = self.params.push(Param::Texts(names));
                    let values = self.params.push(Param::Texts(values));
                    self.conditions.push(format!(
                        "(SELECT COUNT(*) FROM image_properties q WHERE {} \
                         AND (q.name, q.value) IN (SELECT * FROM unnest({names}::text[], {values}::text[]))) = {}",
                        self.dialect().of_image("q"),
                        counted.len()
                    ));
                }
            }
        }
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
                let p = self.params.text(v);
                self.conditions.push(format!("{column} = {p}"));
            }
        }
        if let Some(v) = filter.visibility {
            let p = self.params.text(v.as_str());
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
                let p = self.params.text(&self.project);
                self.conditions.push(format!("i.owner = {p}"));
            }
            Some(ImageType::None) => self.never(),
        }
        for (column, condition) in [("i.created_at", filter.created_at), ("i.updated_at", filter.updated_at)]
        {
            if let Some(c) = condition {
                let p = self.params.push(Param::Int(c.at));
                self.conditions.push(format!("{column} {} {p}", comparison(c.op)));
            }
        }
        if !filter.properties.is_empty() {
            self.properties(&filter.properties);
        }
        if !filter.tags.is_empty() {
            match self.required_pairs(filter.tags.iter().map(|t| (t.key.clone(), t.value.clone()))) {
                None => self.never(),
                Some(pairs) => {
                    let conditions: Vec<TagCondition> = pairs
                        .into_iter()
                        .map(|(key, value)| TagCondition { key, values: vec![value] })
                        .collect();
                    self.having_all(&conditions);
                }
            }
        }
        self
    }

    /// The conditions of `tags_any` (the image meets one), `not_tags` (not all) and `not_tags_any` (none).
    fn tag_lists(&mut self, query: &TagQuery) {
        match self.dialect() {
            // An `EXISTS` on the tags' primary key `(image_id, key)` for each condition.
            Dialect::Sqlite => {
                for (list, join, negate) in [
                    (&query.any, " OR ", false),
                    (&query.not_all, " AND ", true),
                    (&query.not_any, " OR ", true),
                ] {
                    if list.is_empty() {
                        continue;
                    }
                    let parts: Vec<String> = list
                        .iter()
                        .map(|c| {
                            let tag = self.params.has_tag("t", c);
                            self.tag_exists(&tag)
                        })
                        .collect();
                    let joined = format!("({})", parts.join(join));
                    self.conditions.push(if negate { format!("NOT {joined}") } else { joined });
                }
            }
            // One subquery for each list, however long (keys are unique within each list).
            Dialect::Postgres => {
                if !query.any.is_empty() {
                    let any = self.any_of(&query.any);
                    let exists = self.tag_exists(&any);
                    self.conditions.push(exists);
                }
                if !query.not_all.is_empty() {
                    let count = self.matching_tags(&query.not_all);
                    self.conditions.push(format!("{count} < {}", query.not_all.len()));
                }
                if !query.not_any.is_empty() {
                    let any = self.any_of(&query.not_any);
                    let exists = self.tag_exists(&any);
                    self.conditions.push(format!("NOT {exists}"));
                }
            }
        }
    }

    /// Adds the conditions of a `list_image_by_tags` query (keys are unique within each list).
    pub fn tag_query(mut self, query: &TagQuery) -> Where<'p> {
        match &query.name {
            None => {}
            Some(NameMatch::Contains(needle)) => {
                let p = self.params.text(needle);
                self.conditions.push(self.dialect().contains("i.name_folded", &p));
            }
            Some(NameMatch::Empty) => self.conditions.push("COALESCE(i.name, '') = ''".to_owned()),
        }
        if let Some(id) = &query.id {
            self.id_equals("i.id", id);
        }
        if query.untagged {
            self.conditions.push(format!(
                "NOT EXISTS (SELECT 1 FROM image_tags t WHERE {})",
                self.dialect().of_image("t")
            ));
            return self;
        }
        self.having_all(&query.all);
        self.tag_lists(query);
        self
    }

    /// Adds the keyset condition of a `glance_list_images` page: rows after the marker's `(sort value, id)`,
    /// compared on the sort and id expressions `columns` (the images' own, or the copies in a tag row).
    fn after(
        mut self,
        query: &ImageListQuery,
        columns: (&str, &str),
        marker_sort_value: Param,
        marker_id: Uuid,
    ) -> Where<'p> {
        let op = if query.ascending { ">" } else { "<" };
        let value = self.params.push(marker_sort_value);
        let id = self.params.push(Param::Uuid(marker_id));
        self.conditions.push(format!("({}, {}) {op} ({value}, {id})", columns.0, columns.1));
        self
    }
}

/// One arm of a `glance_list_images` page: the rows it reads (`FROM`, the images as `i`), their conditions
/// and their order (the arm's first `LIMIT` rows in that order are its part of the page).
#[derive(Debug)]
pub struct ListArm {
    /// The `FROM` clause.
    pub from: String,
    /// The `WHERE` clause.
    pub condition: String,
    /// The `ORDER BY` clause.
    pub order: String,
}

/// One arm of a `glance_list_images` page after the marker (its sort value and id) if any.
///
/// Sorted by `created_at` with tags in the filter, the arm is read from the tag rows of its first tag in the
/// index that holds them in that order (each tag row carries its image's `created_at`): the owner-first index
/// for the project's own images, the public one for other projects' public images. The page then ends after
/// `limit` matching rows instead of sorting every image the tag selects; the other conditions are checked on
/// the image of each row. Otherwise the arm reads the images table.
pub fn list_arm(
    arm: Arm,
    project: &str,
    query: &ImageListQuery,
    marker: Option<&(Param, Uuid)>,
    params: &mut Params,
) -> ListArm {
    let dir = direction(query);
    let dialect = params.dialect;
    let driver = match query.filter.tags.split_first() {
        Some((first, rest)) if query.sort_key == SortKey::CreatedAt => Some((first, rest)),
        _ => None,
    };
    let Some((first, rest)) = driver else {
        let mut clause = Where::arm(arm, project, params).filter(&query.filter);
        let sort = sort_expression(query.sort_key);
        if let Some((value, id)) = marker {
            clause = clause.after(query, (sort, "i.id"), value.clone(), *id);
        }
        return ListArm {
            from: "images i".to_owned(),
            condition: clause.sql(),
            order: format!("{sort} {dir}, i.id {dir}"),
        };
    };
    let rows = match arm {
        Arm::Owned => format!("d.owner = {}", params.text(project)),
        Arm::PublicOthers => dialect.public_tag("d"),
    };
    let (key, value) = (params.text(&first.key), params.text(&first.value));
    let mut clause =
        Where::arm(arm, project, params).filter(&ImageFilter { tags: rest.to_vec(), ..query.filter.clone() });
    if let Some((value, id)) = marker {
        clause = clause.after(query, ("d.created_at", "d.image_id"), value.clone(), *id);
    }
    ListArm {
        from: "image_tags d CROSS JOIN images i".to_owned(),
        condition: format!(
            "{rows} AND d.key = {key} AND d.value = {value} AND {} AND {}",
            dialect.of_image("d"),
            clause.sql()
        ),
        order: format!("d.created_at {dir}, d.image_id {dir}"),
    }
}

/// The candidates of a `list_image_by_tags` query made of tag conditions only (at least one in `tags`, no
/// `matches`, not `without_any_tag`): the tag rows of its `tags` entry number `driver`, as a subquery `i` with
/// the image's `id`, `owner` and `created_at` (copied into every tag row), read from the owner-first tag index
/// without the images table; and the query's other conditions, checked on each candidate. Each image holds a
/// key once, so there are no duplicates. `None` for other queries (and no parameter added).
fn tag_candidates(
    project: &str,
    query: &TagQuery,
    driver: usize,
    params: &mut Params,
) -> Option<(String, String)> {
    if query.name.is_some() || query.id.is_some() || query.untagged || driver >= query.all.len() {
        return None;
    }
    let dialect = params.dialect;
    let condition = &query.all[driver];
    let owner = params.text(project);
    let rows = if condition.values.len() == 1 {
        // One value: a range of the index in `created_at` order (a list of values would not be).
        let (key, value) = (params.text(&condition.key), params.text(&condition.values[0]));
        format!("d.owner = {owner} AND d.key = {key} AND d.value = {value}")
    } else {
        format!("d.owner = {owner} AND {}", params.has_tag("d", condition))
    };
    let from = format!(
        "(SELECT d.owner AS owner, d.image_id AS id, d.created_at AS created_at FROM image_tags d \
         WHERE {rows}) AS i"
    );
    // On PostgreSQL the checks name the owner too, as every statement names the owner of the rows it reads.
    let checks = match dialect {
        Dialect::Sqlite => Where::unconditioned(Arm::Owned, project, params),
        Dialect::Postgres => Where::arm(Arm::Owned, project, params),
    };
    let mut rest = query.all.clone();
    rest.remove(driver);
    let checks = checks.tag_query(&TagQuery { all: rest, ..query.clone() });
    Some((from, checks.sql()))
}

/// The `list_image_by_tags` total straight from the owner-first tag index, for queries made of tag conditions
/// only (see [`tag_candidates`]; the first `tags` entry lists the candidates), without reading the images
/// table. `None` for other queries (and no parameter added).
pub fn tag_only_count(project: &str, query: &TagQuery, params: &mut Params) -> Option<String> {
    let (from, checks) = tag_candidates(project, query, 0, params)?;
    Some(format!("SELECT COUNT(*) FROM {from} WHERE {checks}"))
}

/// A `list_image_by_tags` page (`i.owner, i.id, i.created_at`, newest first, then by id) of a query made of tag
/// conditions only with a `tags` entry of one value: read from that entry's range of the owner-first tag index,
/// which holds the candidates in `created_at` order, so that the page ends after `offset + limit` matching
/// candidates (only the images of its last second are sorted by id) rather than after sorting every image that
/// matches. `None` for other queries (and no parameter added).
pub fn tag_only_page(project: &str, query: &TagQuery, page: Page, params: &mut Params) -> Option<String> {
    let driver = query.all.iter().position(|c| c.values.len() == 1)?;
    let (from, checks) = tag_candidates(project, query, driver, params)?;
    let limit = params.push(Param::Int(i64::try_from(page.limit).unwrap_or(i64::MAX)));
    let offset = params.push(Param::Int(i64::try_from(page.offset).unwrap_or(i64::MAX)));
    Some(format!(
        "SELECT i.owner, i.id, i.created_at FROM {from} WHERE {checks} \
         ORDER BY i.created_at DESC, i.id ASC LIMIT {limit} OFFSET {offset}"
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

#[cfg(test)]
mod tests {
    use super::*;

    const DIALECTS: [Dialect; 2] = [Dialect::Sqlite, Dialect::Postgres];

    fn c(k: &str, v: &[&str]) -> TagCondition {
        TagCondition { key: k.into(), values: v.iter().map(|s| s.to_string()).collect() }
    }

    /// Every placeholder has its parameter: as many `?` as parameters, or `$1` to `$n` and no further.
    fn placeholders_match(sql: &str, params: &Params) {
        let count = params.values().len();
        match params.dialect {
            Dialect::Sqlite => assert_eq!(sql.matches('?').count(), count, "{sql}"),
            Dialect::Postgres => {
                for n in 1..=count {
                    assert!(sql.contains(&format!("${n}")), "${n} in {sql}");
                }
                assert!(!sql.contains(&format!("${}", count + 1)), "{sql}");
            }
        }
    }

    fn query() -> TagQuery {
        TagQuery {
            all: vec![c("a", &["1", "2"])],
            any: vec![c("b", &[]), c("c", &["3"])],
            not_all: vec![c("d", &[])],
            not_any: vec![c("e", &["4"])],
            name: Some(NameMatch::Contains("x".into())),
            id: Some("00000000-0000-4000-8000-000000000001".into()),
            untagged: false,
        }
    }

    #[test]
    fn tag_query_sql_has_one_param_per_placeholder() {
        for dialect in DIALECTS {
            for arm in ARMS {
                let mut params = Params::new(dialect);
                let sql = Where::arm(arm, "p", &mut params).tag_query(&query()).sql();
                placeholders_match(&sql, &params);
                assert!(sql.contains("NOT (EXISTS") || sql.contains("NOT EXISTS"), "{dialect:?}: {sql}");
            }
            let mut params = Params::new(dialect);
            assert!(
                Where::arm(Arm::Owned, "p", &mut params).tag_query(&query()).sql().contains("t.owner = "),
                "{dialect:?}: the owned arm reads the owner-first index"
            );
        }
    }

    #[test]
    fn tag_only_counts_apply_to_tag_conditions_only() {
        for dialect in DIALECTS {
            let tags_only = TagQuery { name: None, id: None, ..query() };
            let mut params = Params::new(dialect);
            let sql = tag_only_count("p", &tags_only, &mut params).expect("tag conditions only");
            placeholders_match(&sql, &params);
            assert!(!sql.contains("FROM images"), "{sql}");
            for other in [
                TagQuery { all: vec![], ..tags_only.clone() },
                TagQuery { id: Some("i".into()), ..tags_only.clone() },
                TagQuery { untagged: true, ..tags_only.clone() },
                query(),
            ] {
                let mut params = Params::new(dialect);
                assert!(tag_only_count("p", &other, &mut params).is_none(), "{other:?}");
                assert!(params.values().is_empty(), "nothing added for a query it does not answer");
            }
        }
    }

    /// SQLite joins every condition of a list; PostgreSQL joins four in the owned arm and counts the others,
    /// and counts them all among public images.
    #[test]
    fn long_lists_are_joined_on_sqlite_and_partly_counted_on_postgres() {
        let all: Vec<TagCondition> = (0..6).map(|n| c(&format!("k{n}"), &["v"])).collect();
        let long = TagQuery { all, ..TagQuery::default() };
        let shape = |dialect, arm| {
            let mut params = Params::new(dialect);
            let sql = Where::arm(arm, "p", &mut params).tag_query(&long).sql();
            placeholders_match(&sql, &params);
            (sql.matches("i.id IN (SELECT t.image_id").count(), sql.matches("COUNT(*)").count())
        };
        assert_eq!(shape(Dialect::Sqlite, Arm::Owned), (6, 0));
        assert_eq!(shape(Dialect::Sqlite, Arm::PublicOthers), (6, 0));
        assert_eq!(shape(Dialect::Postgres, Arm::Owned), (4, 1));
        assert_eq!(shape(Dialect::Postgres, Arm::PublicOthers), (0, 1));
    }

    #[test]
    fn ids_that_are_not_canonical_uuids_match_nothing() {
        for dialect in DIALECTS {
            for id in ["nope", "00000000-0000-4000-8000-00000000000A", "00000000000040008000000000000001"] {
                let mut params = Params::new(dialect);
                let filter = ImageFilter { id: Some(id.into()), ..ImageFilter::default() };
                let sql = Where::arm(Arm::Owned, "p", &mut params).filter(&filter).sql();
                assert!(sql.ends_with(&format!("AND {}", dialect.never())), "{id}: {sql}");
            }
        }
    }

    /// Counted conditions need distinct keys: on PostgreSQL a repeated pair collapses and two values for one
    /// key match nothing; on SQLite every pair stays a condition of its own.
    #[test]
    fn required_pairs_collapse_only_where_conditions_are_counted() {
        let tags = |pairs: &[(&str, &str)]| ImageFilter {
            tags: pairs.iter().map(|(k, v)| crate::domain::tag::Tag::new(*k, *v)).collect(),
            ..ImageFilter::default()
        };
        let sql = |dialect, filter: &ImageFilter| {
            let mut params = Params::new(dialect);
            Where::arm(Arm::Owned, "p", &mut params).filter(filter).sql()
        };
        let repeated = tags(&[("k", "v"), ("k", "v")]);
        assert_eq!(sql(Dialect::Sqlite, &repeated).matches("image_tags").count(), 2);
        assert_eq!(sql(Dialect::Postgres, &repeated).matches("image_tags").count(), 1);
        let conflicting = tags(&[("k", "v"), ("k", "w")]);
        assert!(sql(Dialect::Postgres, &conflicting).ends_with("AND false"));
        assert_eq!(sql(Dialect::Sqlite, &conflicting).matches("image_tags").count(), 2);
    }

    #[test]
    fn the_arms_are_disjoint() {
        let mut params = Params::new(Dialect::Sqlite);
        assert_eq!(Where::arm(Arm::Owned, "p", &mut params).sql(), "i.owner = ?");
        let mut params = Params::new(Dialect::Postgres);
        assert_eq!(
            Where::arm(Arm::PublicOthers, "p", &mut params).sql(),
            "i.visibility = 'public' AND i.owner <> $1"
        );
        let mut params = Params::new(Dialect::Sqlite);
        assert!(!Where::arm(Arm::Owned, "p", &mut params).filters_images());
        let named = ImageFilter { name: Some("n".into()), ..Default::default() };
        let mut params = Params::new(Dialect::Sqlite);
        assert!(Where::arm(Arm::Owned, "p", &mut params).filter(&named).filters_images());
    }
}

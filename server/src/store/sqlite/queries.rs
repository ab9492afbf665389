//! The SQLite store's queries: each `Store` method in one read transaction or one write of the writer's group.
//! The SQL whose shape depends on the request comes from `store::sql`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use uuid::Uuid;

use super::SqliteStore;
use crate::domain::image::{Access, Image, NewImage, Status, Visibility};
use crate::domain::query::image_filter::ImageFilter;
use crate::domain::query::image_list::ImageListQuery;
use crate::domain::query::tag_query::{Page, TagQuery, fold_case};
use crate::domain::tag::{Tag, TagChange, TagSet};
use crate::domain::time;
use crate::store::sql::{self, ARMS, Arm, Dialect, IMAGE_COLUMNS, Param, Params, Where};
use crate::store::{Store, StoreError, TaggedImage};

/// The values to bind for a statement's parameters: booleans as 0 and 1, ids as their text (as stored).
fn to_values(params: &Params) -> Result<Vec<Value>, StoreError> {
    params
        .values()
        .iter()
        .map(|p| match p {
            Param::Text(s) => Ok(Value::Text(s.clone())),
            Param::Int(i) => Ok(Value::Integer(*i)),
            Param::Bool(b) => Ok(Value::Integer(i64::from(*b))),
            Param::Uuid(id) => Ok(Value::Text(id.to_string())),
            Param::Texts(_) => Err(StoreError::Backend("SQLite takes no list parameter".into())),
        })
        .collect()
}

/// `(?, ?, ...)` with `n` placeholders.
fn placeholders(n: usize) -> String {
    format!("({})", vec!["?"; n].join(", "))
}

/// Combines one `SELECT` per arm with `combine` (`UNION ALL`, or `UNION` to drop duplicates), each wrapped
/// in a subquery of its own (SQLite takes no `ORDER BY` or `LIMIT` in a bare member of a compound select);
/// `select(arm)` gives the text of each.
fn union_of_arms(combine: &str, mut select: impl FnMut(Arm) -> String) -> String {
    let parts: Vec<String> = ARMS
        .iter()
        .enumerate()
        .map(|(n, arm)| format!("SELECT * FROM ({}) AS arm_{n}", select(*arm)))
        .collect();
    parts.join(&format!(" {combine} "))
}

fn image_from_row(row: &Row<'_>) -> rusqlite::Result<Image> {
    let text_enum = |index: usize| -> rusqlite::Result<String> { row.get(index) };
    let bad = |index: usize, e: String| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e.into())
    };
    let id: String = row.get(0)?;
    Ok(Image {
        id: Uuid::parse_str(&id).map_err(|e| bad(0, e.to_string()))?,
        owner: row.get(1)?,
        name: row.get(2)?,
        status: text_enum(3)?.parse::<Status>().map_err(|e| bad(3, e))?,
        visibility: text_enum(4)?.parse::<Visibility>().map_err(|e| bad(4, e))?,
        protected: row.get(5)?,
        os_hidden: row.get(6)?,
        container_format: row.get(7)?,
        disk_format: row.get(8)?,
        min_disk: row.get(9)?,
        min_ram: row.get(10)?,
        size: row.get(11)?,
        virtual_size: row.get(12)?,
        checksum: row.get(13)?,
        created_at: row.get(14)?,
        updated_at: row.get(15)?,
        tags: TagSet::new(),
        properties: BTreeMap::new(),
    })
}

/// Loads tags and properties into images already read.
fn attach_details(conn: &Connection, images: &mut [Image]) -> Result<(), StoreError> {
    if images.is_empty() {
        return Ok(());
    }
    let ids: Vec<Value> = images.iter().map(|i| Value::Text(i.id.to_string())).collect();
    let index: BTreeMap<String, usize> =
        images.iter().enumerate().map(|(n, i)| (i.id.to_string(), n)).collect();
    let marks = placeholders(ids.len());
    let mut tags = conn
        .prepare_cached(&format!("SELECT image_id, key, value FROM image_tags WHERE image_id IN {marks}"))?;
    let mut rows = tags.query(params_from_iter(ids.iter()))?;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        if let Some(n) = index.get(&id) {
            images[*n].tags.insert(row.get(1)?, row.get(2)?);
        }
    }
    let mut props = conn.prepare_cached(&format!(
        "SELECT image_id, name, value FROM image_properties WHERE image_id IN {marks}"
    ))?;
    let mut rows = props.query(params_from_iter(ids.iter()))?;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        if let Some(n) = index.get(&id) {
            images[*n].properties.insert(row.get(1)?, row.get(2)?);
        }
    }
    Ok(())
}

fn select_images(conn: &Connection, condition: &str, values: &[Value]) -> Result<Vec<Image>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {IMAGE_COLUMNS} FROM images i WHERE {condition}"))?;
    let mut images =
        stmt.query_map(params_from_iter(values), image_from_row)?.collect::<Result<Vec<_>, _>>()?;
    attach_details(conn, &mut images)?;
    Ok(images)
}

/// The owner and visibility of an image, if it exists.
fn ownership(conn: &Connection, id: &str) -> Result<Option<(String, Visibility, bool)>, StoreError> {
    let row = conn
        .prepare_cached("SELECT owner, visibility, protected FROM images WHERE id = ?")?
        .query_row([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, bool>(2)?)))
        .optional()?;
    row.map(|(owner, visibility, protected)| {
        let visibility = visibility.parse::<Visibility>().map_err(StoreError::Backend)?;
        Ok((owner, visibility, protected))
    })
    .transpose()
}

/// Checks that `project` owns the image: hidden images are not found, visible ones not owned are refused.
fn require_owner(conn: &Connection, id: &str, project: &str) -> Result<bool, StoreError> {
    let (owner, visibility, protected) = ownership(conn, id)?.ok_or(StoreError::ImageNotFound)?;
    match Access::of(&owner, visibility, project) {
        Access::Hidden => Err(StoreError::ImageNotFound),
        Access::Read => Err(StoreError::NotOwner),
        Access::Owner => Ok(protected),
    }
}

fn insert_image(conn: &Connection, image: &NewImage, now: i64) -> Result<(), StoreError> {
    let id = image.id.to_string();
    let inserted = conn
        .prepare_cached(
            "INSERT INTO images (id, owner, name, name_folded, status, visibility, protected, os_hidden, \
         container_format, disk_format, min_disk, min_ram, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            id,
            image.owner,
            image.name,
            fold_case(image.name.as_deref().unwrap_or("")),
            image.status.as_str(),
            image.visibility.as_str(),
            image.protected,
            image.os_hidden,
            image.container_format,
            image.disk_format,
            image.min_disk,
            image.min_ram,
            now,
            now
        ])?;
    if inserted == 0 {
        return Err(StoreError::Conflict);
    }
    let mut tag =
        conn.prepare_cached("INSERT INTO image_tags (image_id, key, value, owner) VALUES (?, ?, ?, ?)")?;
    for (key, value) in &image.tags {
        tag.execute(params![id, key, value, image.owner])?;
    }
    let mut prop =
        conn.prepare_cached("INSERT INTO image_properties (image_id, name, value) VALUES (?, ?, ?)")?;
    for (name, value) in &image.properties {
        prop.execute(params![id, name, value])?;
    }
    Ok(())
}

fn read_tags(conn: &Connection, id: &str) -> Result<TagSet, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT key, value FROM image_tags WHERE image_id = ?")?;
    let set = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<TagSet, _>>()?;
    Ok(set)
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_image(&self, image: NewImage) -> Result<Image, StoreError> {
        let id = image.id;
        let owner = image.owner.clone();
        self.write(move |conn| insert_image(conn, &image, time::now())).await?;
        self.image(id, &owner).await
    }

    async fn create_images(&self, images: Vec<NewImage>) -> Result<(), StoreError> {
        self.write(move |conn| {
            let now = time::now();
            images.iter().try_for_each(|image| insert_image(conn, image, now))
        })
        .await
    }

    async fn image(&self, id: Uuid, project: &str) -> Result<Image, StoreError> {
        let project = project.to_owned();
        self.read_point(move |conn| {
            let image = select_images(conn, "i.id = ?", &[Value::Text(id.to_string())])?
                .pop()
                .ok_or(StoreError::ImageNotFound)?;
            match Access::of(&image.owner, image.visibility, &project) {
                Access::Hidden => Err(StoreError::ImageNotFound),
                Access::Read | Access::Owner => Ok(image),
            }
        })
        .await
    }

    async fn list_images(&self, project: &str, query: &ImageListQuery) -> Result<Vec<Image>, StoreError> {
        let (project, query) = (project.to_owned(), query.clone());
        self.read(move |conn| {
            let marker = match query.marker {
                None => None,
                Some(marker) => {
                    let row = conn
                        .query_row(
                            &format!(
                                "SELECT i.owner, i.visibility, {} FROM images i WHERE i.id = ?",
                                sql::sort_expression(query.sort_key)
                            ),
                            [marker.to_string()],
                            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Value>(2)?)),
                        )
                        .optional()?;
                    let Some((owner, visibility, sort_value)) = row else {
                        return Err(StoreError::MarkerNotFound);
                    };
                    let visibility = visibility.parse::<Visibility>().map_err(StoreError::Backend)?;
                    if Access::of(&owner, visibility, &project) == Access::Hidden {
                        return Err(StoreError::MarkerNotFound);
                    }
                    let sort_value = match sort_value {
                        Value::Integer(i) => Param::Int(i),
                        Value::Text(s) => Param::Text(s),
                        other => return Err(StoreError::Backend(format!("unexpected sort value {other:?}"))),
                    };
                    Some((sort_value, marker))
                }
            };
            let sort = sql::sort_expression(query.sort_key);
            let dir = sql::direction(&query);
            let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
            let mut params = Params::new(Dialect::Sqlite);
            let union = union_of_arms("UNION ALL", |arm| {
                let mut clause = Where::arm(arm, &project, &mut params).filter(&query.filter);
                if let Some((value, id)) = &marker {
                    clause = clause.after(&query, value.clone(), *id);
                }
                format!(
                    "SELECT i.id AS id, {sort} AS sort_value FROM images i WHERE {} \
                     ORDER BY {sort} {dir}, i.id {dir} LIMIT {limit}",
                    clause.sql()
                )
            });
            let ids: Vec<Value> = conn
                .prepare(&format!("{union} ORDER BY sort_value {dir}, id {dir} LIMIT {limit}"))?
                .query_map(params_from_iter(to_values(&params)?), |r| r.get::<_, Value>(0))?
                .collect::<Result<_, _>>()?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let mut images = select_images(conn, &format!("i.id IN {}", placeholders(ids.len())), &ids)?;
            let position: BTreeMap<String, usize> = ids
                .iter()
                .enumerate()
                .filter_map(|(n, v)| match v {
                    Value::Text(id) => Some((id.clone(), n)),
                    _ => None,
                })
                .collect();
            images.sort_by_key(|image| position.get(&image.id.to_string()).copied().unwrap_or(usize::MAX));
            Ok(images)
        })
        .await
    }

    async fn delete_image(&self, id: Uuid, project: &str) -> Result<(), StoreError> {
        let project = project.to_owned();
        self.write(move |conn| {
            let id = id.to_string();
            if require_owner(conn, &id, &project)? {
                return Err(StoreError::Protected);
            }
            conn.execute("DELETE FROM image_tags WHERE image_id = ?", [&id])?;
            conn.execute("DELETE FROM image_properties WHERE image_id = ?", [&id])?;
            conn.execute("DELETE FROM images WHERE id = ?", [&id])?;
            Ok(())
        })
        .await
    }

    async fn change_tags(
        &self,
        id: Uuid,
        project: &str,
        change: TagChange,
        max_tags: usize,
    ) -> Result<(), StoreError> {
        let project = project.to_owned();
        self.write(move |conn| {
            let id = id.to_string();
            require_owner(conn, &id, &project)?;
            let current = read_tags(conn, &id)?;
            let writes = change.plan(&current, max_tags)?;
            let mut upsert = conn.prepare_cached(
                "INSERT INTO image_tags (image_id, key, value, owner) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (image_id, key) DO UPDATE SET value = excluded.value",
            )?;
            for tag in &writes.upserts {
                upsert.execute(params![id, tag.key, tag.value, project])?;
            }
            let mut delete = conn.prepare_cached("DELETE FROM image_tags WHERE image_id = ? AND key = ?")?;
            for key in &writes.deletes {
                delete.execute(params![id, key])?;
            }
            conn.prepare_cached("UPDATE images SET updated_at = ? WHERE id = ?")?
                .execute(params![time::now(), id])?;
            Ok(())
        })
        .await
    }

    async fn image_tags(&self, id: Uuid, project: &str) -> Result<Vec<Tag>, StoreError> {
        let project = project.to_owned();
        self.read_point(move |conn| {
            let id = id.to_string();
            let (owner, visibility, _) = ownership(conn, &id)?.ok_or(StoreError::ImageNotFound)?;
            if Access::of(&owner, visibility, &project) == Access::Hidden {
                return Err(StoreError::ImageNotFound);
            }
            Ok(read_tags(conn, &id)?.into_iter().map(|(k, v)| Tag::new(k, v)).collect())
        })
        .await
    }

    async fn project_tags(&self, project: &str) -> Result<Vec<Tag>, StoreError> {
        let project = project.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT DISTINCT key, value FROM image_tags WHERE owner = ? ORDER BY key, value",
            )?;
            let tags = stmt
                .query_map([&project], |r| Ok(Tag::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(tags)
        })
        .await
    }

    async fn filtered_tags(&self, project: &str, filter: &ImageFilter) -> Result<Vec<Tag>, StoreError> {
        let (project, filter) = (project.to_owned(), filter.clone());
        self.read(move |conn| {
            // Each arm yields its distinct tags (the owned arm straight from the owner-first index, in order);
            // `UNION` merges the two short lists.
            let mut params = Params::new(Dialect::Sqlite);
            let union = union_of_arms("UNION", |arm| {
                let clause = Where::arm(arm, &project, &mut params).filter(&filter);
                if arm == Arm::Owned && !clause.filters_images() {
                    // The arm's only parameter is the owner.
                    "SELECT DISTINCT t.key AS key, t.value AS value FROM image_tags t WHERE t.owner = ?"
                        .to_owned()
                } else {
                    format!(
                        "SELECT DISTINCT t.key AS key, t.value AS value FROM images i \
                         JOIN image_tags t ON t.image_id = i.id WHERE {}",
                        clause.sql()
                    )
                }
            });
            let mut stmt = conn.prepare(&format!("{union} ORDER BY key, value"))?;
            let tags = stmt
                .query_map(params_from_iter(to_values(&params)?), |r| {
                    Ok(Tag::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(tags)
        })
        .await
    }

    async fn query_images(
        &self,
        project: &str,
        query: &TagQuery,
        page: Option<Page>,
    ) -> Result<(u64, Vec<TaggedImage>), StoreError> {
        let (project, query) = (project.to_owned(), query.clone());
        self.read(move |conn| {
            let mut params = Params::new(Dialect::Sqlite);
            let count = sql::tag_only_count(&project, &query, &mut params).unwrap_or_else(|| {
                let clause = Where::arm(Arm::Owned, &project, &mut params).tag_query(&query);
                format!("SELECT COUNT(*) FROM images i WHERE {}", clause.sql())
            });
            let total: i64 = conn.query_row(&count, params_from_iter(to_values(&params)?), |r| r.get(0))?;
            let Some(page) = page else { return Ok((u64::try_from(total).unwrap_or(0), Vec::new())) };
            let mut params = Params::new(Dialect::Sqlite);
            let clause = Where::arm(Arm::Owned, &project, &mut params).tag_query(&query).sql();
            let limit = params.push(Param::Int(i64::try_from(page.limit).unwrap_or(i64::MAX)));
            let offset = params.push(Param::Int(i64::try_from(page.offset).unwrap_or(i64::MAX)));
            let mut stmt = conn.prepare(&format!(
                "SELECT i.id, COALESCE(i.name, ''), i.status FROM images i WHERE {clause} \
                 ORDER BY i.created_at DESC, i.id ASC LIMIT {limit} OFFSET {offset}"
            ))?;
            let rows = stmt
                .query_map(params_from_iter(to_values(&params)?), |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut found = Vec::with_capacity(rows.len());
            for (id, name, status) in rows {
                let tags = read_tags(conn, &id)?.into_iter().map(|(k, v)| Tag::new(k, v)).collect();
                let id = Uuid::parse_str(&id).map_err(|e| StoreError::Backend(e.to_string()))?;
                found.push(TaggedImage { id, name, status, tags });
            }
            Ok((u64::try_from(total).unwrap_or(0), found))
        })
        .await
    }

    /// A reader connection reads the schema (a read transaction on the file, which `SELECT 1` would not
    /// open), and the writer thread takes the write lock and commits an empty transaction: both fail or hang
    /// while the database cannot be used (another process holding its write lock, the writer thread gone).
    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| {
            Ok(conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0))?)
        })
        .await?;
        self.write(|_| Ok(())).await
    }
}

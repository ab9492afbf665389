//! The PostgreSQL store's queries: each `Store` method in a bounded number of statements, whatever the size
//! of the page (images come with their tags and properties as arrays of the same row).
//!
//! Rows are found by owner first. An image named by id alone (show, `list_image_tags`, a list marker) is
//! looked for among the caller's own images; failing that, its owner comes from `image_directory` and its row
//! from that owner's rows, so that every statement names the owner of the rows it reads (one node, were the
//! tables distributed by owner).

use std::collections::BTreeMap;

use async_trait::async_trait;
use deadpool_postgres::Object;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSqlOwned, ToSql, Type};
use uuid::Uuid;

use super::{PostgresStore, TransactionKind};
use crate::domain::image::{Access, Image, NewImage, Status, Visibility};
use crate::domain::query::image_filter::ImageFilter;
use crate::domain::query::image_list::{ImageListQuery, SortKey};
use crate::domain::query::tag_query::{Page, TagQuery, fold_case};
use crate::domain::tag::{Tag, TagChange, TagSet};
use crate::domain::time;
use crate::store::sql::{self, ARMS, Arm, Dialect, IMAGE_COLUMNS, Param, Params, Where};
use crate::store::{Store, StoreError, TaggedImage};

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

/// A recursive query `name(key, value)` listing the distinct tags of the tag rows `t` that meet `rows`, in
/// order, one index probe each: from each tag to the next one after it (a loose index scan; PostgreSQL reads
/// every row for a `DISTINCT`). `rows` is the condition of a tag index that leads with the tag after it: the
/// owner (`t.owner = $1`, the owner-first index) or public images (`t.is_public`, the public index).
fn distinct_tags(name: &str, rows: &str) -> String {
    format!(
        "{name}(key, value) AS ( \
             (SELECT t.key, t.value FROM image_tags t WHERE {rows} ORDER BY t.key, t.value LIMIT 1) \
             UNION ALL \
             SELECT n.key, n.value FROM {name} AS last CROSS JOIN LATERAL ( \
                 SELECT t.key, t.value FROM image_tags t WHERE {rows} AND (t.key, t.value) > (last.key, last.value) \
                 ORDER BY t.key, t.value LIMIT 1) AS n)"
    )
}

/// A parameter's value and its type, as `query_typed` takes them.
fn typed(param: &Param) -> (&(dyn ToSql + Sync), Type) {
    match param {
        Param::Text(v) => (v, Type::TEXT),
        Param::Int(v) => (v, Type::INT8),
        Param::Bool(v) => (v, Type::BOOL),
        Param::Uuid(v) => (v, Type::UUID),
        Param::Texts(v) => (v, Type::TEXT_ARRAY),
    }
}

/// Reads column `index` of a row.
fn get<T: FromSqlOwned>(row: &Row, index: usize) -> Result<T, StoreError> {
    row.try_get(index).map_err(|e| StoreError::Backend(format!("column {index}: {e}")))
}

/// Pairs two parallel arrays (names and values, aggregated in the same order) into a map.
fn pairs(names: Option<Vec<String>>, values: Option<Vec<String>>) -> BTreeMap<String, String> {
    names.unwrap_or_default().into_iter().zip(values.unwrap_or_default()).collect()
}

/// An image from a row of `with_details`.
fn image_from_row(row: &Row) -> Result<Image, StoreError> {
    let status: String = get(row, 3)?;
    let visibility: String = get(row, 4)?;
    Ok(Image {
        id: get(row, 0)?,
        owner: get(row, 1)?,
        name: get(row, 2)?,
        status: status.parse::<Status>().map_err(StoreError::Backend)?,
        visibility: visibility.parse::<Visibility>().map_err(StoreError::Backend)?,
        protected: get(row, 5)?,
        os_hidden: get(row, 6)?,
        container_format: get(row, 7)?,
        disk_format: get(row, 8)?,
        min_disk: get(row, 9)?,
        min_ram: get(row, 10)?,
        size: get(row, 11)?,
        virtual_size: get(row, 12)?,
        checksum: get(row, 13)?,
        created_at: get(row, 14)?,
        updated_at: get(row, 15)?,
        tags: pairs(get(row, 16)?, get(row, 17)?),
        properties: pairs(get(row, 18)?, get(row, 19)?),
    })
}

impl PostgresStore {
    /// Runs a statement built for this request (parsed, bound and run in one round trip).
    async fn typed(&self, client: &Object, sql: &str, params: &Params) -> Result<Vec<Row>, StoreError> {
        let params: Vec<_> = params.values().iter().map(typed).collect();
        client.query_typed(sql, &params).await.map_err(|e| self.error(e))
    }

    /// Runs one of the store's fixed statements, prepared once per connection.
    async fn fixed(
        &self,
        client: &Object,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let statement = client.prepare_cached(sql).await.map_err(|e| self.error(e))?;
        client.query(&statement, params).await.map_err(|e| self.error(e))
    }

    /// The image `id` if `owner` owns it, with tags and properties.
    async fn owned_image(&self, client: &Object, id: Uuid, owner: &str) -> Result<Option<Image>, StoreError> {
        let sql = with_details(
            &format!("SELECT {IMAGE_COLUMNS} FROM images i WHERE i.owner = $1 AND i.id = $2"),
            "",
        );
        self.fixed(client, &sql, &[&owner, &id]).await?.first().map(image_from_row).transpose()
    }

    /// The owner of image `id`, from the directory of ids.
    async fn owner_of(&self, client: &Object, id: Uuid) -> Result<Option<String>, StoreError> {
        let rows = self.fixed(client, "SELECT owner FROM image_directory WHERE id = $1", &[&id]).await?;
        rows.first().map(|row| get(row, 0)).transpose()
    }

    /// The image `id` as `project` sees it: its own, or another project's public image; hidden and missing
    /// images are not found.
    async fn visible_image(&self, client: &Object, id: Uuid, project: &str) -> Result<Image, StoreError> {
        if let Some(image) = self.owned_image(client, id, project).await? {
            return Ok(image);
        }
        let Some(owner) = self.owner_of(client, id).await?.filter(|owner| owner != project) else {
            return Err(StoreError::ImageNotFound);
        };
        match self.owned_image(client, id, &owner).await? {
            Some(image) if Access::of(&image.owner, image.visibility, project) != Access::Hidden => Ok(image),
            _ => Err(StoreError::ImageNotFound),
        }
    }

    /// Why `project` cannot change image `id`, which is not among its own: another project's public image
    /// is refused (`NotOwner`), anything else is not found.
    async fn refusal(&self, client: &Object, id: Uuid, project: &str) -> StoreError {
        match self.visible_image(client, id, project).await {
            Ok(_) => StoreError::NotOwner,
            Err(e) => e,
        }
    }

    /// Writes images, their tags and properties, and their ids in the directory, in the current transaction,
    /// one statement per table whatever their number. A taken id (or one given twice) is a conflict.
    async fn insert_images(&self, client: &Object, images: &[NewImage], now: i64) -> Result<(), StoreError> {
        let ids: Vec<Uuid> = images.iter().map(|i| i.id).collect();
        let owners: Vec<&str> = images.iter().map(|i| i.owner.as_str()).collect();
        let claimed = self
            .fixed(
                client,
                "INSERT INTO image_directory (id, owner) SELECT * FROM unnest($1::uuid[], $2::text[]) \
                 ON CONFLICT (id) DO NOTHING RETURNING id",
                &[&ids, &owners],
            )
            .await?;
        if claimed.len() != images.len() {
            return Err(StoreError::Conflict);
        }
        let names: Vec<Option<&str>> = images.iter().map(|i| i.name.as_deref()).collect();
        let folded: Vec<String> = images.iter().map(|i| fold_case(i.name.as_deref().unwrap_or(""))).collect();
        let statuses: Vec<&str> = images.iter().map(|i| i.status.as_str()).collect();
        let visibilities: Vec<&str> = images.iter().map(|i| i.visibility.as_str()).collect();
        let protected: Vec<bool> = images.iter().map(|i| i.protected).collect();
        let hidden: Vec<bool> = images.iter().map(|i| i.os_hidden).collect();
        let containers: Vec<Option<&str>> = images.iter().map(|i| i.container_format.as_deref()).collect();
        let disks: Vec<Option<&str>> = images.iter().map(|i| i.disk_format.as_deref()).collect();
        let min_disks: Vec<i64> = images.iter().map(|i| i.min_disk).collect();
        let min_rams: Vec<i64> = images.iter().map(|i| i.min_ram).collect();
        self.fixed(
            client,
            "INSERT INTO images (owner, id, name, name_folded, status, visibility, protected, os_hidden, \
             container_format, disk_format, min_disk, min_ram, created_at, updated_at) \
             SELECT o, i, n, f, s, v, p, h, c, d, md, mr, $13, $13 FROM unnest($1::text[], $2::uuid[], \
             $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::bool[], $9::text[], $10::text[], \
             $11::int8[], $12::int8[]) AS u(o, i, n, f, s, v, p, h, c, d, md, mr)",
            &[
                &owners,
                &ids,
                &names,
                &folded,
                &statuses,
                &visibilities,
                &protected,
                &hidden,
                &containers,
                &disks,
                &min_disks,
                &min_rams,
                &now,
            ],
        )
        .await?;
        let tags: Vec<(&NewImage, &str, &str)> = images
            .iter()
            .flat_map(|i| i.tags.iter().map(move |(k, v)| (i, k.as_str(), v.as_str())))
            .collect();
        if !tags.is_empty() {
            let owners: Vec<&str> = tags.iter().map(|t| t.0.owner.as_str()).collect();
            let ids: Vec<Uuid> = tags.iter().map(|t| t.0.id).collect();
            let keys: Vec<&str> = tags.iter().map(|t| t.1).collect();
            let values: Vec<&str> = tags.iter().map(|t| t.2).collect();
            let public: Vec<bool> = tags.iter().map(|t| t.0.visibility == Visibility::Public).collect();
            self.fixed(
                client,
                "INSERT INTO image_tags (owner, image_id, key, value, created_at, is_public) \
                 SELECT o, i, k, v, $6, p FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::bool[]) \
                 AS u(o, i, k, v, p)",
                &[&owners, &ids, &keys, &values, &public, &now],
            )
            .await?;
        }
        let properties: Vec<(&NewImage, &str, &str)> = images
            .iter()
            .flat_map(|i| i.properties.iter().map(move |(k, v)| (i, k.as_str(), v.as_str())))
            .collect();
        if !properties.is_empty() {
            let owners: Vec<&str> = properties.iter().map(|p| p.0.owner.as_str()).collect();
            let ids: Vec<Uuid> = properties.iter().map(|p| p.0.id).collect();
            let names: Vec<&str> = properties.iter().map(|p| p.1).collect();
            let values: Vec<&str> = properties.iter().map(|p| p.2).collect();
            self.fixed(
                client,
                "INSERT INTO image_properties (owner, image_id, name, value) \
                 SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[])",
                &[&owners, &ids, &names, &values],
            )
            .await?;
        }
        Ok(())
    }

    /// The marker's sort value, if the marker is an image the project can see.
    async fn marker(
        &self,
        client: &Object,
        query: &ImageListQuery,
        marker: Uuid,
        project: &str,
    ) -> Result<Param, StoreError> {
        let image = match self.visible_image(client, marker, project).await {
            Err(StoreError::ImageNotFound) => return Err(StoreError::MarkerNotFound),
            other => other?,
        };
        Ok(match query.sort_key {
            SortKey::Name => Param::Text(image.name.unwrap_or_default()),
            SortKey::Status => Param::Text(image.status.as_str().to_owned()),
            SortKey::ContainerFormat => Param::Text(image.container_format.unwrap_or_default()),
            SortKey::DiskFormat => Param::Text(image.disk_format.unwrap_or_default()),
            SortKey::Size => Param::Int(image.size.unwrap_or(-1)),
            SortKey::Id => Param::Uuid(image.id),
            SortKey::CreatedAt => Param::Int(image.created_at),
            SortKey::UpdatedAt => Param::Int(image.updated_at),
        })
    }
    /// A page of `GET /v2/images`: the images after the marker in both arms, merged, with their details.
    async fn list_page(
        &self,
        client: &Object,
        project: &str,
        query: &ImageListQuery,
    ) -> Result<Vec<Image>, StoreError> {
        let marker = match query.marker {
            Some(id) => Some((self.marker(client, query, id, project).await?, id)),
            None => None,
        };
        let sort = sql::sort_expression(query.sort_key);
        let dir = sql::direction(query);
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let mut params = Params::new(Dialect::Postgres);
        let mut arms = Vec::new();
        for arm in ARMS {
            let arm = sql::list_arm(arm, project, query, marker.as_ref(), &mut params);
            arms.push(format!(
                "(SELECT {IMAGE_COLUMNS}, {sort} AS sort_value FROM {} WHERE {} ORDER BY {} LIMIT {limit})",
                arm.from, arm.condition, arm.order
            ));
        }
        let page = format!("{} ORDER BY sort_value {dir}, id {dir} LIMIT {limit}", arms.join(" UNION ALL "));
        let statement = with_details(&page, &format!("ORDER BY p.sort_value {dir}, p.id {dir}"));
        self.typed(client, &statement, &params).await?.iter().map(image_from_row).collect()
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        self.fixed(&client, "SELECT 1", &[]).await.map(drop)
    }

    async fn create_image(&self, image: NewImage) -> Result<Image, StoreError> {
        let (id, owner) = (image.id, image.owner.clone());
        self.create_images(vec![image]).await?;
        let client = self.client().await?;
        self.owned_image(&client, id, &owner).await?.ok_or(StoreError::ImageNotFound)
    }

    async fn create_images(&self, images: Vec<NewImage>) -> Result<(), StoreError> {
        let tx = self.begin(TransactionKind::Write).await?;
        let result = self.insert_images(tx.client()?, &images, time::now()).await;
        self.end(tx, result).await
    }

    async fn image(&self, id: Uuid, project: &str) -> Result<Image, StoreError> {
        let client = self.client().await?;
        self.visible_image(&client, id, project).await
    }

    async fn list_images(&self, project: &str, query: &ImageListQuery) -> Result<Vec<Image>, StoreError> {
        match query.marker {
            // Without a marker, the page is one statement.
            None => self.list_page(&self.client().await?, project, query).await,
            // With one, its sort value and the page come from one snapshot.
            Some(_) => {
                let tx = self.begin(TransactionKind::Read).await?;
                let result = self.list_page(tx.client()?, project, query).await;
                self.end(tx, result).await
            }
        }
    }

    async fn delete_image(&self, id: Uuid, project: &str) -> Result<(), StoreError> {
        let tx = self.begin(TransactionKind::Write).await?;
        let result = async {
            let client = tx.client()?;
            // The row lock orders this delete with tag changes of the image: they wait for it, then find
            // the image gone. The tags and properties go with the row (ON DELETE CASCADE).
            let locked = self
                .fixed(
                    client,
                    "SELECT protected FROM images WHERE owner = $1 AND id = $2 FOR UPDATE",
                    &[&project, &id],
                )
                .await?;
            let Some(row) = locked.first() else { return Err(self.refusal(client, id, project).await) };
            if get::<bool>(row, 0)? {
                return Err(StoreError::Protected);
            }
            self.fixed(client, "DELETE FROM images WHERE owner = $1 AND id = $2", &[&project, &id]).await?;
            self.fixed(client, "DELETE FROM image_directory WHERE id = $1", &[&id]).await?;
            Ok(())
        }
        .await;
        self.end(tx, result).await
    }

    async fn change_tags(
        &self,
        id: Uuid,
        project: &str,
        change: TagChange,
        max_tags: usize,
    ) -> Result<(), StoreError> {
        let tx = self.begin(TransactionKind::Write).await?;
        let result = async {
            let client = tx.client()?;
            // Bumping `updated_at` locks the image row until the transaction ends: concurrent changes of this
            // image, from any replica, wait here and then read the tags this one leaves (READ COMMITTED reads
            // each statement from a new snapshot).
            let locked = self
                .fixed(
                    client,
                    "UPDATE images SET updated_at = $3 WHERE owner = $1 AND id = $2 \
                     RETURNING created_at, visibility = 'public'",
                    &[&project, &id, &time::now()],
                )
                .await?;
            let Some(image) = locked.first() else { return Err(self.refusal(client, id, project).await) };
            // What the image's tag rows repeat of it.
            let (created_at, public): (i64, bool) = (get(image, 0)?, get(image, 1)?);
            let current: TagSet = self
                .fixed(
                    client,
                    "SELECT key, value FROM image_tags WHERE owner = $1 AND image_id = $2",
                    &[&project, &id],
                )
                .await?
                .iter()
                .map(|row| Ok((get(row, 0)?, get(row, 1)?)))
                .collect::<Result<_, StoreError>>()?;
            let writes = change.plan(&current, max_tags)?;
            if !writes.upserts.is_empty() {
                let keys: Vec<&str> = writes.upserts.iter().map(|t| t.key.as_str()).collect();
                let values: Vec<&str> = writes.upserts.iter().map(|t| t.value.as_str()).collect();
                self.fixed(
                    client,
                    "INSERT INTO image_tags (owner, image_id, key, value, created_at, is_public) \
                     SELECT $1, $2, k, v, $5, $6 FROM unnest($3::text[], $4::text[]) AS u(k, v) \
                     ON CONFLICT (owner, image_id, key) DO UPDATE SET value = excluded.value",
                    &[&project, &id, &keys, &values, &created_at, &public],
                )
                .await?;
            }
            if !writes.deletes.is_empty() {
                self.fixed(
                    client,
                    "DELETE FROM image_tags WHERE owner = $1 AND image_id = $2 AND key = ANY($3)",
                    &[&project, &id, &writes.deletes],
                )
                .await?;
            }
            Ok(())
        }
        .await;
        self.end(tx, result).await
    }

    async fn image_tags(&self, id: Uuid, project: &str) -> Result<Vec<Tag>, StoreError> {
        let image = self.image(id, project).await?;
        Ok(image.tags.into_iter().map(|(k, v)| Tag::new(k, v)).collect())
    }

    async fn project_tags(&self, project: &str) -> Result<Vec<Tag>, StoreError> {
        let client = self.client().await?;
        let statement = format!(
            "WITH RECURSIVE {} SELECT key, value FROM owned ORDER BY key, value",
            distinct_tags("owned", "t.owner = $1")
        );
        self.fixed(&client, &statement, &[&project])
            .await?
            .iter()
            .map(|row| Ok(Tag::new(get::<String>(row, 0)?, get::<String>(row, 1)?)))
            .collect()
    }

    async fn filtered_tags(&self, project: &str, filter: &ImageFilter) -> Result<Vec<Tag>, StoreError> {
        let client = self.client().await?;
        let filtered = Where::arm(Arm::Owned, project, &mut Params::new(Dialect::Postgres))
            .filter(filter)
            .filters_images();
        let rows = if !filtered {
            // The distinct tags of the project's images and of every public image, each skipping through its
            // tag index (the public arm takes the project's public images too: they are in the other arm
            // anyway, and the union is a set).
            let statement = format!(
                "WITH RECURSIVE {}, {} SELECT key, value FROM owned UNION SELECT key, value FROM public_tags \
                 ORDER BY 1, 2",
                distinct_tags("owned", "t.owner = $1"),
                distinct_tags("public_tags", "t.is_public"),
            );
            self.fixed(&client, &statement, &[&project]).await?
        } else {
            let mut params = Params::new(Dialect::Postgres);
            let mut arms = Vec::new();
            for arm in ARMS {
                let clause = Where::arm(arm, project, &mut params).filter(filter);
                arms.push(format!(
                    "(SELECT DISTINCT t.key, t.value FROM images i \
                     JOIN image_tags t ON t.owner = i.owner AND t.image_id = i.id WHERE {})",
                    clause.sql()
                ));
            }
            let statement = format!("{} ORDER BY 1, 2", arms.join(" UNION "));
            self.typed(&client, &statement, &params).await?
        };
        rows.iter().map(|row| Ok(Tag::new(get::<String>(row, 0)?, get::<String>(row, 1)?))).collect()
    }

    async fn query_images(
        &self,
        project: &str,
        query: &TagQuery,
        page: Option<Page>,
    ) -> Result<(u64, Vec<TaggedImage>), StoreError> {
        let count = |params: &mut Params| {
            sql::tag_only_count(project, query, params).unwrap_or_else(|| {
                format!(
                    "SELECT COUNT(*) FROM images i WHERE {}",
                    Where::arm(Arm::Owned, project, params).tag_query(query).sql()
                )
            })
        };
        let total = |rows: Vec<Row>| -> Result<u64, StoreError> {
            let n: i64 = rows.first().map(|row| get(row, 0)).transpose()?.unwrap_or(0);
            Ok(u64::try_from(n).unwrap_or(0))
        };
        let Some(page) = page else {
            let client = self.client().await?;
            let mut params = Params::new(Dialect::Postgres);
            let statement = count(&mut params);
            return Ok((total(self.typed(&client, &statement, &params).await?)?, Vec::new()));
        };
        let tx = self.begin(TransactionKind::Read).await?;
        let result = async {
            let client = tx.client()?;
            let mut params = Params::new(Dialect::Postgres);
            let statement = count(&mut params);
            let total = total(self.typed(client, &statement, &params).await?)?;
            let mut params = Params::new(Dialect::Postgres);
            // The page's rows: from the tag index in order when the query is made of tag conditions only (and
            // one of them has a single value), else from the project's images.
            let rows = sql::tag_only_page(project, query, page, &mut params).unwrap_or_else(|| {
                let clause = Where::arm(Arm::Owned, project, &mut params).tag_query(query).sql();
                let limit = params.push(Param::Int(i64::try_from(page.limit).unwrap_or(i64::MAX)));
                let offset = params.push(Param::Int(i64::try_from(page.offset).unwrap_or(i64::MAX)));
                format!(
                    "SELECT i.owner, i.id, i.created_at FROM images i WHERE {clause} \
                     ORDER BY i.created_at DESC, i.id ASC LIMIT {limit} OFFSET {offset}"
                )
            });
            let statement = format!(
                "SELECT p.id, COALESCE(im.name, ''), im.status, tg.keys, tg.vals FROM ({rows}) AS p \
                 JOIN images im ON im.owner = p.owner AND im.id = p.id \
                 LEFT JOIN LATERAL (SELECT array_agg(t.key ORDER BY t.key) AS keys, \
                     array_agg(t.value ORDER BY t.key) AS vals \
                     FROM image_tags t WHERE t.owner = p.owner AND t.image_id = p.id) AS tg ON true \
                 ORDER BY p.created_at DESC, p.id ASC"
            );
            let found = self
                .typed(client, &statement, &params)
                .await?
                .iter()
                .map(|row| {
                    Ok(TaggedImage {
                        id: get(row, 0)?,
                        name: get(row, 1)?,
                        status: get(row, 2)?,
                        tags: pairs(get(row, 3)?, get(row, 4)?)
                            .into_iter()
                            .map(|(k, v)| Tag::new(k, v))
                            .collect(),
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok((total, found))
        }
        .await;
        self.end(tx, result).await
    }
}

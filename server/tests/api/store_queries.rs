//! The store's SQL against the plain-Rust reference predicates of the query models, on random data and random
//! queries, through the `Store` trait: it runs on whichever backend the suite runs against (SQLite, or
//! PostgreSQL with `IMS_TAGS_TEST_POSTGRES`).

use std::collections::BTreeMap;
use std::time::Duration;

use ims_tags::domain::image::{Image, NewImage, Status, Visibility};
use ims_tags::domain::query::image_filter::{ImageFilter, ImageType, TimeCondition, TimeOp, visible};
use ims_tags::domain::query::image_list::{ImageListQuery, SortKey};
use ims_tags::domain::query::tag_query::{NameMatch, Page, TagCondition, TagQuery};
use ims_tags::domain::tag::{Tag, TagChange, TagSet};
use ims_tags::store::Store;
use serde_json::json;
use uuid::Uuid;

use crate::harness::{P1, TestServer, Who, count_rows, open_store, test_config};

/// A small deterministic pseudo-random sequence (no dependency, same data on every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next(items.len() as u64) as usize]
    }
}

const KEYS: &[&str] = &["env", "team", "app", "Env", "x y"];
const VALUES: &[&str] = &["", "prod", "dev", "a", "b"];

fn random_condition(rng: &mut Lcg) -> TagCondition {
    let values = (0..rng.next(3)).map(|_| rng.pick(VALUES).to_owned()).collect();
    TagCondition { key: rng.pick(KEYS).to_owned(), values }
}

fn random_list(rng: &mut Lcg) -> Vec<TagCondition> {
    // Up to five entries: long enough for the PostgreSQL store to count some conditions rather than join them.
    let n = if rng.next(2) == 0 { 0 } else { 1 + rng.next(5) };
    let mut list: Vec<TagCondition> = Vec::new();
    for _ in 0..n {
        let c = random_condition(rng);
        if !list.iter().any(|d| d.key == c.key) {
            list.push(c);
        }
    }
    list
}

/// Creates the images one by one, in three waves a second apart, so that they have several `created_at` values
/// (one-second resolution) and many images share each: orders must be right across seconds and within one.
/// Returns them as stored.
async fn create_in_waves(store: &dyn Store, images: Vec<NewImage>) -> Vec<Image> {
    let wave = images.len().div_ceil(3);
    let mut created = Vec::new();
    for (n, image) in images.into_iter().enumerate() {
        if n > 0 && n % wave == 0 {
            tokio::time::sleep(Duration::from_millis(1050)).await;
        }
        let (id, owner) = (image.id, image.owner.clone());
        store.create_images(vec![image]).await.expect("created");
        created.push(store.image(id, &owner).await.expect("stored"));
    }
    let seconds: std::collections::BTreeSet<i64> = created.iter().map(|i| i.created_at).collect();
    assert!(seconds.len() >= 3, "three creation seconds: {seconds:?}");
    created
}

/// Changes the tags of a few random images through the store (upserts and deletes, on images of any project,
/// by their owner), applies the same plan to the model, and takes the images' new `updated_at` from the store
/// (it is the store's clock); the store's tags must equal the model's. Tag rows written by a change must carry
/// their image's `created_at` and visibility like the rows written at creation.
async fn change_some_tags(store: &dyn Store, images: &mut [Image], rng: &mut Lcg) {
    for _ in 0..8 {
        let n = rng.next(images.len() as u64) as usize;
        let image = &mut images[n];
        let change = if rng.next(3) == 0 {
            TagChange::DeleteKeys(vec![rng.pick(KEYS).to_owned(), rng.pick(KEYS).to_owned()])
        } else {
            TagChange::Upsert(vec![Tag::new(rng.pick(KEYS), rng.pick(VALUES))])
        };
        let writes = change.plan(&image.tags, 10).expect("within the quota");
        store.change_tags(image.id, &image.owner, change, 10).await.expect("changed");
        for tag in writes.upserts {
            image.tags.insert(tag.key, tag.value);
        }
        for key in writes.deletes {
            image.tags.remove(&key);
        }
        let stored = store.image(image.id, &image.owner).await.expect("stored");
        assert_eq!(stored.tags, image.tags, "the model follows the store");
        image.updated_at = stored.updated_at;
    }
}

/// The SQL of `list_image_by_tags` (both count paths, and the pages in their order: `created_at` descending,
/// then id) agrees with the plain-Rust reference `TagQuery::matches` on random data and random queries (tag
/// lists, name and id matches, untagged) and random pages, on the backend under test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_queries_agree_with_the_reference_predicate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = test_config(dir.path()).await;
    let store = open_store(&config).await;
    let mut rng = Lcg(7);
    let mut drafts = Vec::new();
    for n in 0..80u64 {
        let mut tags = TagSet::new();
        for _ in 0..rng.next(4) {
            tags.insert(rng.pick(KEYS).to_owned(), rng.pick(VALUES).to_owned());
        }
        let owner = if n % 4 == 0 { "other" } else { "p" };
        let name = ["Web-1", "web-2", "db", ""][(n % 4) as usize].to_owned();
        drafts.push(NewImage {
            // Ids not in creation order, so that the order by id within a second is not the creation order.
            id: Uuid::from_u128(u128::from((n * 37) % 80) + 1),
            name: Some(name),
            status: Status::Active,
            visibility: if n % 5 == 0 { Visibility::Public } else { Visibility::Private },
            owner: owner.to_owned(),
            protected: false,
            os_hidden: false,
            container_format: None,
            disk_format: None,
            min_disk: 0,
            min_ram: 0,
            tags,
            properties: BTreeMap::new(),
        });
    }
    let mut images = create_in_waves(store.as_ref(), drafts).await;
    assert_tag_rows_copy_their_images(&config).await;
    for round in 0..300 {
        if round % 30 == 29 {
            change_some_tags(store.as_ref(), &mut images, &mut rng).await;
            assert_tag_rows_copy_their_images(&config).await;
        }
        let mut query = TagQuery {
            all: random_list(&mut rng),
            any: random_list(&mut rng),
            not_all: random_list(&mut rng),
            not_any: random_list(&mut rng),
            untagged: rng.next(10) == 0,
            ..TagQuery::default()
        };
        match rng.next(12) {
            0 | 1 => query.name = Some(NameMatch::Contains("web".into())),
            2 => query.name = Some(NameMatch::Empty),
            _ => {}
        }
        match rng.next(10) {
            // An image's id, or text no stored id equals (ids are stored lower-case).
            0 => query.id = Some(Uuid::from_u128(u128::from(1 + rng.next(80))).to_string()),
            1 => query.id = Some(Uuid::from_u128(u128::from(1 + rng.next(80))).to_string().to_uppercase()),
            _ => {}
        }
        let mut expected: Vec<&Image> = images
            .iter()
            .filter(|i| i.owner == "p" && query.matches(i.name.as_deref(), &i.id.to_string(), &i.tags))
            .collect();
        expected.sort_by_key(|i| (std::cmp::Reverse(i.created_at), i.id));
        let expected: Vec<Uuid> = expected.iter().map(|i| i.id).collect();
        let (total, _) = store.query_images("p", &query, None).await.expect("count");
        assert_eq!(total as usize, expected.len(), "round {round}: {query:?}");
        let whole = Page { limit: 1000, offset: 0 };
        let (_, found) = store.query_images("p", &query, Some(whole)).await.expect("filter");
        let found: Vec<Uuid> = found.into_iter().map(|i| i.id).collect();
        assert_eq!(found, expected, "round {round}, in order: {query:?}");
        let page = Page { limit: 1 + rng.next(7), offset: rng.next(expected.len() as u64 + 3) };
        let (paged_total, found) = store.query_images("p", &query, Some(page)).await.expect("a page");
        let found: Vec<Uuid> = found.into_iter().map(|i| i.id).collect();
        let wanted: Vec<Uuid> =
            expected.iter().skip(page.offset as usize).take(page.limit as usize).copied().collect();
        assert_eq!(
            (paged_total as usize, found),
            (expected.len(), wanted),
            "round {round}, {page:?}: {query:?}"
        );
    }
}

/// Keys, values and names compare and sort by their bytes whatever the database's default collation (the
/// tests' PostgreSQL cluster sorts text linguistically by default: "a" < "B" < "é" < "z"): op 10's
/// aggregate, op 4's tags, a list sorted by name, and case-sensitive matching.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_sorts_and_matches_by_bytes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_store(&test_config(dir.path()).await).await;
    let words = ["a", "B", "z", "é", "Z", "ab", "Ab"];
    let mut by_bytes: Vec<&str> = words.to_vec();
    by_bytes.sort();
    assert_eq!(by_bytes, ["Ab", "B", "Z", "a", "ab", "z", "é"]);
    let images: Vec<NewImage> = words
        .iter()
        .enumerate()
        .map(|(n, word)| NewImage {
            id: Uuid::from_u128(n as u128 + 1),
            name: Some((*word).to_owned()),
            status: Status::Active,
            visibility: Visibility::Private,
            owner: "p".to_owned(),
            protected: false,
            os_hidden: false,
            container_format: None,
            disk_format: None,
            min_disk: 0,
            min_ram: 0,
            tags: TagSet::from([((*word).to_owned(), (*word).to_owned())]),
            properties: BTreeMap::new(),
        })
        .collect();
    store.create_images(images).await.expect("created");

    let keys = |tags: Vec<Tag>| tags.into_iter().map(|t| t.key).collect::<Vec<_>>();
    assert_eq!(keys(store.project_tags("p").await.expect("op 10")), by_bytes);
    assert_eq!(keys(store.filtered_tags("p", &ImageFilter::default()).await.expect("op 4")), by_bytes);
    let named = ImageFilter { name: Some("ab".into()), ..ImageFilter::default() };
    assert_eq!(keys(store.filtered_tags("p", &named).await.expect("op 4 by name")), ["ab"], "case-sensitive");

    let list = ImageListQuery {
        filter: ImageFilter::default(),
        sort_key: SortKey::Name,
        ascending: true,
        limit: 100,
        marker: None,
    };
    let names: Vec<String> =
        store.list_images("p", &list).await.expect("listed").into_iter().filter_map(|i| i.name).collect();
    assert_eq!(names, by_bytes);
    let after_b = ImageListQuery { marker: Some(Uuid::from_u128(2)), limit: 2, ..list };
    let names: Vec<String> =
        store.list_images("p", &after_b).await.expect("listed").into_iter().filter_map(|i| i.name).collect();
    assert_eq!(names, ["Z", "a"], "the page after the marker \"B\", in byte order");

    let query =
        TagQuery { all: vec![TagCondition { key: "b".into(), values: vec![] }], ..TagQuery::default() };
    assert_eq!(store.query_images("p", &query, None).await.expect("op 5").0, 0, "\"b\" is not \"B\"");
}

/// A random image filter: each condition with some probability, over the values the images are drawn from;
/// the properties and tags sometimes those of one image, so that long lists (which the PostgreSQL store
/// partly counts rather than joins) select something.
fn random_filter(rng: &mut Lcg, images: &[Image]) -> ImageFilter {
    let mut filter = ImageFilter::default();
    let maybe = |rng: &mut Lcg| rng.next(5) == 0;
    let some_image = |rng: &mut Lcg| &images[rng.next(images.len() as u64) as usize];
    if maybe(rng) {
        filter.id = Some(if rng.next(4) == 0 {
            "00000000-0000-4000-8000-FFFFFFFFFFFF".to_owned()
        } else {
            some_image(rng).id.to_string()
        });
    }
    if maybe(rng) {
        filter.name = Some(rng.pick(NAMES).to_owned());
    }
    if maybe(rng) {
        filter.status = Some(rng.pick(&["active", "queued", "killed"]).to_owned());
    }
    if maybe(rng) {
        filter.visibility =
            Some([Visibility::Private, Visibility::Public, Visibility::Shared][rng.next(3) as usize]);
    }
    if maybe(rng) {
        filter.owner = Some(rng.pick(OWNERS).to_owned());
    }
    if maybe(rng) {
        filter.min_disk = Some([0, 40][rng.next(2) as usize]);
    }
    if maybe(rng) {
        filter.min_ram = Some([0, 512][rng.next(2) as usize]);
    }
    if maybe(rng) {
        filter.container_format = Some(rng.pick(&["bare", "ovf"]).to_owned());
    }
    if maybe(rng) {
        filter.disk_format = Some(rng.pick(&["qcow2", "raw"]).to_owned());
    }
    for condition in [&mut filter.created_at, &mut filter.updated_at] {
        if rng.next(3) == 0 {
            let op = [TimeOp::Gt, TimeOp::Gte, TimeOp::Lt, TimeOp::Lte, TimeOp::Eq, TimeOp::Neq]
                [rng.next(6) as usize];
            let at = some_image(rng).created_at + [-1, 0, 0, 1][rng.next(4) as usize];
            *condition = Some(TimeCondition { op, at });
        }
    }
    if maybe(rng) {
        filter.protected = Some(rng.next(2) == 0);
    }
    if maybe(rng) {
        filter.os_hidden = Some(rng.next(2) == 0);
    }
    if maybe(rng) {
        filter.image_type =
            Some([ImageType::Gold, ImageType::Private, ImageType::None][rng.next(3) as usize]);
    }
    if rng.next(4) == 0 {
        filter.properties = some_image(rng).properties.clone().into_iter().collect();
    } else {
        for _ in 0..[0, 0, 1, 2, 6][rng.next(5) as usize] {
            filter
                .properties
                .push((rng.pick(PROPERTY_NAMES).to_owned(), rng.pick(PROPERTY_VALUES).to_owned()));
        }
    }
    // Up to six tags: beyond four, the PostgreSQL store counts rather than joins them.
    if rng.next(4) == 0 {
        filter.tags = some_image(rng).tags.iter().map(|(k, v)| Tag::new(k.clone(), v.clone())).collect();
    } else {
        for _ in 0..[0, 0, 1, 2, 6][rng.next(5) as usize] {
            filter.tags.push(Tag::new(rng.pick(KEYS), rng.pick(VALUES)));
        }
    }
    filter
}

const OWNERS: &[&str] = &["p", "other", "third"];
const NAMES: &[&str] = &["web", "Web", "db", ""];
const PROPERTY_NAMES: &[&str] = &["__os_type", "arch", "__platform", "flavor_id", "virtual_env_type", "__x"];
const PROPERTY_VALUES: &[&str] = &["Linux", "Windows"];

/// The sort value of an image for a sort key, as the stores compare it (names and formats coalesced to "",
/// numbers of one width so that text order is number order).
fn sort_value(image: &Image, key: SortKey) -> String {
    match key {
        SortKey::Name => image.name.clone().unwrap_or_default(),
        SortKey::Status => image.status.as_str().to_owned(),
        SortKey::Id => image.id.to_string(),
        SortKey::ContainerFormat => image.container_format.clone().unwrap_or_default(),
        SortKey::DiskFormat => image.disk_format.clone().unwrap_or_default(),
        // No image has a size yet: all coalesce to -1, and the ids decide.
        SortKey::Size => format!("{:020}", image.size.unwrap_or(-1)),
        SortKey::CreatedAt => format!("{:020}", image.created_at),
        SortKey::UpdatedAt => format!("{:020}", image.updated_at),
    }
}

/// The SQL of `list_tags` (`filtered_tags`) and of `glance_list_images` (`list_images`: membership, order and
/// keyset pages after a marker) agrees with the plain-Rust reference (`ImageFilter::matches` and `visible`)
/// on random images of three projects and random filters, on the backend under test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_filters_agree_with_the_reference_predicate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = test_config(dir.path()).await;
    let store = open_store(&config).await;
    let mut rng = Lcg(11);
    let mut drafts = Vec::new();
    for n in 0..60u64 {
        let mut tags = TagSet::new();
        for _ in 0..rng.next(7) {
            tags.insert(rng.pick(KEYS).to_owned(), rng.pick(VALUES).to_owned());
        }
        let mut properties = BTreeMap::new();
        for name in PROPERTY_NAMES {
            if rng.next(3) != 0 {
                properties.insert((*name).to_owned(), rng.pick(PROPERTY_VALUES).to_owned());
            }
        }
        drafts.push(NewImage {
            id: Uuid::from_u128(u128::from(n) * 7919 + 1),
            name: if rng.next(6) == 0 { None } else { Some(rng.pick(NAMES).to_owned()) },
            status: [Status::Active, Status::Queued][rng.next(2) as usize],
            visibility: [Visibility::Private, Visibility::Public, Visibility::Shared][rng.next(3) as usize],
            owner: rng.pick(OWNERS).to_owned(),
            protected: rng.next(3) == 0,
            os_hidden: rng.next(4) == 0,
            container_format: [None, Some("bare".to_owned()), Some("ovf".to_owned())][rng.next(3) as usize]
                .clone(),
            disk_format: [None, Some("qcow2".to_owned()), Some("raw".to_owned())][rng.next(3) as usize]
                .clone(),
            min_disk: [0, 40][rng.next(2) as usize],
            min_ram: [0, 512][rng.next(2) as usize],
            tags,
            properties,
        });
    }
    let mut images = create_in_waves(store.as_ref(), drafts).await;
    assert_tag_rows_copy_their_images(&config).await;
    for round in 0..300 {
        if round % 30 == 29 {
            change_some_tags(store.as_ref(), &mut images, &mut rng).await;
            assert_tag_rows_copy_their_images(&config).await;
        }
        let filter = random_filter(&mut rng, &images);
        let matching: Vec<&Image> =
            images.iter().filter(|i| visible(i, "p") && filter.matches(i, "p")).collect();

        let mut expected_tags: Vec<Tag> = matching
            .iter()
            .flat_map(|i| i.tags.iter().map(|(k, v)| Tag::new(k.clone(), v.clone())))
            .collect();
        expected_tags.sort();
        expected_tags.dedup();
        let found_tags = store.filtered_tags("p", &filter).await.expect("op 4");
        assert_eq!(found_tags, expected_tags, "round {round}: {filter:?}");

        let sort_key = [
            SortKey::Name,
            SortKey::Status,
            SortKey::ContainerFormat,
            SortKey::DiskFormat,
            SortKey::Size,
            SortKey::Id,
            SortKey::CreatedAt,
            SortKey::UpdatedAt,
        ][rng.next(8) as usize];
        let query = ImageListQuery {
            filter: filter.clone(),
            sort_key,
            ascending: rng.next(2) == 0,
            limit: [1, 2, 4][rng.next(3) as usize],
            marker: None,
        };
        check_list(store.as_ref(), &images, &query, round).await;
        // The filter's tags alone, by `created_at` (the default order): each arm is read from a tag index in
        // that order, and with few other conditions an arm often holds more images than a short page takes.
        let by_tags = ImageListQuery {
            filter: ImageFilter { tags: filter.tags.clone(), ..ImageFilter::default() },
            sort_key: SortKey::CreatedAt,
            ascending: rng.next(2) == 0,
            limit: [1, 2, 4][rng.next(3) as usize],
            marker: None,
        };
        check_list(store.as_ref(), &images, &by_tags, round).await;
    }
}

/// `list_images` for `p` agrees with the reference (`visible`, `ImageFilter::matches`, the sort) for the whole
/// list, and page after page of `query.limit` images (each after the last one of the page before).
async fn check_list(store: &dyn Store, images: &[Image], query: &ImageListQuery, round: usize) {
    let mut expected: Vec<&Image> =
        images.iter().filter(|i| visible(i, "p") && query.filter.matches(i, "p")).collect();
    expected.sort_by_key(|i| (sort_value(i, query.sort_key), i.id));
    if !query.ascending {
        expected.reverse();
    }
    let expected: Vec<Uuid> = expected.iter().map(|i| i.id).collect();
    let whole = ImageListQuery { limit: 1000, ..query.clone() };
    let found: Vec<Uuid> = store.list_images("p", &whole).await.expect("list").iter().map(|i| i.id).collect();
    assert_eq!(found, expected, "round {round}: {whole:?}");
    let mut paged = Vec::new();
    let mut marker = None;
    loop {
        assert!(paged.len() <= expected.len(), "round {round}, pages go past the list: {query:?}");
        let page = ImageListQuery { marker, ..query.clone() };
        let ids: Vec<Uuid> =
            store.list_images("p", &page).await.expect("page").iter().map(|i| i.id).collect();
        let Some(last) = ids.last() else { break };
        marker = Some(*last);
        paged.extend(ids);
    }
    assert_eq!(paged, expected, "round {round}, pages: {query:?}");
}

/// Every write that creates tag rows copies its image's `created_at` and visibility into them, on the backend
/// under test: image creation with tags (private and public), op 7, op 1 (Glance's tag PUT) and an op 6 batch,
/// each a second after the images were created, so that a copy of the write's own time would differ.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_rows_copy_their_images_created_at_and_visibility() {
    let s = TestServer::start().await;
    let private = s.image(Who::Owner, json!({"name": "private", "tags": ["at-create"]})).await;
    let public =
        s.image(Who::Owner, json!({"name": "public", "visibility": "public", "tags": ["at-create"]})).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for image in [private, public] {
        let body = json!({"tag": {"key": "op7", "value": "v"}}).to_string();
        let path = format!("/v2/{P1}/images/{image}/tags");
        assert_eq!(s.raw("POST", &path, Some(Who::Owner), &[], Some(&body)).await.status, 204, "op 7");
        let path = format!("/v2/images/{image}/tags/op1");
        assert_eq!(s.raw("PUT", &path, Some(Who::Owner), &[], None).await.status, 204, "op 1");
        let body = json!({"action": "create", "tags": [{"key": "op6-a", "value": "x"}, {"key": "op6-b", "value": ""}]});
        let path = format!("/v2/{P1}/images/{image}/tags/action");
        let raw = s.raw("POST", &path, Some(Who::Owner), &[], Some(&body.to_string())).await;
        assert_eq!(raw.status, 204, "op 6: {}", raw.text);
        assert_eq!(s.tags(image).await.len(), 5, "the tags of creation, op 7, op 1 and op 6");
    }
    let rows = count_rows(&s.config, "SELECT COUNT(*) FROM image_tags").await;
    assert_eq!(rows, 10, "five tag rows per image");
    let public_rows = count_rows(&s.config, "SELECT COUNT(*) FROM image_tags WHERE is_public = true").await;
    assert_eq!(public_rows, 5, "the public image's rows say so");
    assert_tag_rows_copy_their_images(&s.config).await;
}

/// Asserts that the tag rows of the store `config` names repeat their images' `created_at` and visibility.
async fn assert_tag_rows_copy_their_images(config: &ims_tags::config::Config) {
    let differing = count_rows(
        config,
        "SELECT COUNT(*) FROM image_tags t JOIN images i ON i.id = t.image_id \
         WHERE t.created_at <> i.created_at OR t.is_public <> (i.visibility = 'public')",
    )
    .await;
    assert_eq!(differing, 0, "every tag row repeats its image's created_at and visibility");
}

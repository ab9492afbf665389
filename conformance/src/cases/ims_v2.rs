//! Ops 6 to 10, the IMS v2 tag operations on one image and the project's aggregate.

use ims_tags_client::types;
use serde_json::{Value, json};

use crate::case::{Case, Ctx, Need, pairs, seg};
use crate::cases::{call, missing_id, put_native, v2_tags_path};
use crate::http::{Request, Response};
use crate::outcome::{CaseResult, Failure};
use crate::target::{Family, Who};
use crate::{ensure, ensure_eq};

pub(crate) fn cases() -> Vec<Case> {
    vec![
        case!(
            contract,
            "ims.v2.add.adds_a_tag",
            ImsV2,
            add_adds,
            "op 7 adds {key, value} and answers 204",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.add.existing_key_gets_the_new_value",
            ImsV2,
            add_upserts,
            "op 7 on an existing key sets its value; the same key and value is a no-op 204",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.add.key_and_value_at_the_length_limits",
            ImsV2,
            add_lengths_n,
            "a 36-character key and a 43-character value are accepted",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.add.key_over_the_length_limit_is_400",
            ImsV2,
            add_key_n1,
            "a 37-character key is 400 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.add.value_over_the_length_limit_is_400",
            ImsV2,
            add_value_n1,
            "a 44-character value is 400 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.add.empty_key_is_400",
            ImsV2,
            add_empty_key,
            "an empty key is 400 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.add.dot_in_a_key_is_400",
            ImsV2,
            add_dot_key,
            "IMS keys cannot contain `.`: 400 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.add.native_key_outside_the_ims_set_is_400",
            ImsV2,
            add_native_key,
            "op 7 on an existing native key outside the IMS set is 400 IMG.0115 and keeps it",
            Need::Images(1),
            Need::Serves(Family::Native)
        ),
        case!(
            contract,
            "ims.v2.add.malformed_bodies_are_400",
            ImsV2,
            add_malformed,
            "op 7 with `tag` not an object, or without `tag`, is 400 IMG.0001",
            Need::Images(1)
        ),
        case!(
            choice,
            "ims.v2.add.missing_value_is_400_img_0001",
            ImsV2,
            add_missing_value,
            "op 7 without tag.value is 400 IMG.0001",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.add.empty_body_is_400_img_0007",
            ImsV2,
            add_empty_body,
            "op 7 without a body is 400 IMG.0007",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.add.at_the_quota_is_accepted",
            ImsV2,
            add_quota_n,
            "op 7 adding the quota-th key is accepted",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.add.over_the_quota_is_400",
            ImsV2,
            add_quota_n1,
            "op 7 adding a key over the quota is 400 IMG.0116",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.add.updating_at_the_quota_is_accepted",
            ImsV2,
            add_quota_update,
            "op 7 changing the value of an existing key at the quota is accepted",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.delete.removes_the_key",
            ImsV2,
            delete_removes,
            "op 8 removes the key and answers 204",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.delete.missing_key_is_404",
            ImsV2,
            delete_missing,
            "op 8 on a key the image does not have is 404 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.delete.any_stored_key_can_be_deleted",
            ImsV2,
            delete_any_key,
            "op 8 reads keys with no character-set check (spaces, `/`, `+`, CJK)",
            Need::Images(1),
            Need::Serves(Family::Native)
        ),
        case!(
            contract,
            "ims.v2.delete.a_key_named_action",
            ImsV2,
            delete_action_key,
            "op 8 deletes a key named `action` or `resource_instances`",
            Need::Images(1),
            Need::Serves(Family::Native)
        ),
        case!(
            contract,
            "ims.v2.delete.key_over_the_lookup_limit_is_400",
            ImsV2,
            delete_lookup_n1,
            "op 8 with a key over 255 characters is 400 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.show.sorted_by_key_and_value",
            ImsV2,
            show_sorted,
            "op 9 lists {key, value} sorted by key",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.show.public_image_of_another_project",
            ImsV2,
            show_public,
            "op 9 shows the tags of any image the caller can see",
            Need::Registry,
            Need::Other
        ),
        case!(
            contract,
            "ims.v2.show.invisible_image_is_404",
            ImsV2,
            show_invisible,
            "op 9 on another project's private image, a missing or a malformed id is 404 IMG.0144",
            Need::Registry,
            Need::Other
        ),
        case!(
            contract,
            "ims.v2.batch.create_adds_every_tag",
            ImsV2,
            batch_create,
            "op 6 create adds every tag",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.batch.create_is_all_or_nothing",
            ImsV2,
            batch_all_or_nothing,
            "op 6 create with one invalid, valueless or duplicate item is 400 IMG.0115 and writes nothing",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.batch.empty_tags_is_400",
            ImsV2,
            batch_empty,
            "op 6 with `tags: []` is 400 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.batch.action_is_create_or_delete",
            ImsV2,
            batch_action,
            "op 6 `action` is create or delete, case-sensitive; otherwise, or without tags, 400 IMG.0001",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.batch.create_at_the_quota_is_accepted",
            ImsV2,
            batch_quota_n,
            "op 6 create up to the quota is accepted",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.batch.create_over_the_quota_is_400",
            ImsV2,
            batch_quota_n1,
            "op 6 create past the quota is 400 IMG.0116 and writes nothing",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.batch.delete_ignores_missing_keys_and_values",
            ImsV2,
            batch_delete,
            "op 6 delete ignores missing keys; `value` is optional and not compared",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.batch.delete_checks_keys",
            ImsV2,
            batch_delete_invalid,
            "op 6 delete with a key over 255 characters or a key twice is 400 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v2.aggregate.keys_with_their_distinct_values",
            ImsV2,
            aggregate,
            "op 10 gives key -> sorted distinct values over the project's images; a key-only tag gives \"\"",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v2.aggregate.other_projects_are_left_out",
            ImsV2,
            aggregate_scope,
            "op 10 counts only the caller's images, not other projects' public ones",
            Need::Registry,
            Need::Other
        ),
        case!(
            contract,
            "ims.v2.aggregate.keys_are_sorted",
            ImsV2,
            aggregate_sorted,
            "op 10's keys and values are sorted",
            Need::Registry
        ),
    ]
}

fn ims_tag(key: &str, value: &str) -> Result<types::ImsTag, Failure> {
    Ok(types::ImsTag {
        key: key.try_into().map_err(|e| Failure::new(format!("key {key:?}: {e}")))?,
        value: value.try_into().map_err(|e| Failure::new(format!("value {value:?}: {e}")))?,
    })
}

/// Op 7 through the generated client.
async fn add(c: &Ctx, image: &str, key: &str, value: &str) -> CaseResult {
    let client = c.client(Who::Owner)?;
    let body = types::AddImageTagRequest { tag: ims_tag(key, value)? };
    call("add_image_tag", client.add_image_tag().project_id(c.p1()).image_id(image).body(body).send()).await
}

async fn post(c: &Ctx, image: &str, body: &Value) -> Result<Response, Failure> {
    c.owner(Request::new("POST", v2_tags_path(c, Who::Owner, image)).json(body)).await
}

async fn batch(c: &Ctx, image: &str, body: &Value) -> Result<Response, Failure> {
    c.owner(Request::new("POST", format!("{}/action", v2_tags_path(c, Who::Owner, image))).json(body)).await
}

async fn add_adds(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    add(c, &image, "env", "prod").await?;
    add(c, &image, "a", "").await?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("a", ""), ("env", "prod")]), "tags");
    Ok(())
}

async fn add_upserts(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    add(c, &image, "env", "prod").await?;
    add(c, &image, "env", "prod").await?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("env", "prod")]), "after the same key and value");
    add(c, &image, "env", "dev").await?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("env", "dev")]), "after a new value");
    Ok(())
}

async fn add_lengths_n(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let (key, value) = ("k".repeat(c.target.limits.ims_key_max), "v".repeat(c.target.limits.ims_value_max));
    post(c, &image, &json!({"tag": {"key": key, "value": value}})).await?.expect(204)?;
    ensure_eq!(c.tags(&image).await?, pairs(&[(&key, &value)]), "tags");
    Ok(())
}

/// Op 7 with `tag` must be 400 `code` and write nothing.
async fn add_refused(c: &Ctx, body: Value, code: &str) -> CaseResult {
    let image = c.own_image().await?;
    post(c, &image, &body).await?.expect_error(400, code)?;
    ensure!(c.tags(&image).await?.is_empty(), "the refused tag was written");
    Ok(())
}

async fn add_key_n1(c: &Ctx) -> CaseResult {
    add_refused(
        c,
        json!({"tag": {"key": "k".repeat(c.target.limits.ims_key_max + 1), "value": ""}}),
        "IMG.0115",
    )
    .await
}

async fn add_value_n1(c: &Ctx) -> CaseResult {
    add_refused(
        c,
        json!({"tag": {"key": "k", "value": "v".repeat(c.target.limits.ims_value_max + 1)}}),
        "IMG.0115",
    )
    .await
}

async fn add_empty_key(c: &Ctx) -> CaseResult {
    add_refused(c, json!({"tag": {"key": "", "value": "v"}}), "IMG.0115").await
}

async fn add_dot_key(c: &Ctx) -> CaseResult {
    add_refused(c, json!({"tag": {"key": "a.b", "value": "v"}}), "IMG.0115").await
}

async fn add_native_key(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    put_native(c, &image, "my key").await?;
    post(c, &image, &json!({"tag": {"key": "my key", "value": "v"}})).await?.expect_error(400, "IMG.0115")?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("my key", "")]), "the native tag");
    Ok(())
}

async fn add_malformed(c: &Ctx) -> CaseResult {
    add_refused(c, json!({"tag": "k.v"}), "IMG.0001").await?;
    add_refused(c, json!({}), "IMG.0001").await
}

async fn add_missing_value(c: &Ctx) -> CaseResult {
    add_refused(c, json!({"tag": {"key": "k"}}), "IMG.0001").await
}

async fn add_empty_body(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    c.owner(Request::new("POST", v2_tags_path(c, Who::Owner, &image)))
        .await?
        .expect_error(400, "IMG.0007")?;
    Ok(())
}

async fn add_quota_n(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let quota = c.target.limits.tags_per_image;
    crate::cases::fill(c, &image, "t", quota - 1).await?;
    add(c, &image, "last", "").await?;
    ensure_eq!(c.tags(&image).await?.len(), quota, "tags");
    Ok(())
}

async fn add_quota_n1(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let quota = c.target.limits.tags_per_image;
    crate::cases::fill(c, &image, "t", quota).await?;
    post(c, &image, &json!({"tag": {"key": "over", "value": ""}})).await?.expect_error(400, "IMG.0116")?;
    ensure_eq!(c.tags(&image).await?.len(), quota, "tags");
    Ok(())
}

async fn add_quota_update(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let quota = c.target.limits.tags_per_image;
    crate::cases::fill(c, &image, "t", quota).await?;
    add(c, &image, "t0", "changed").await?;
    let tags = c.tags(&image).await?;
    ensure!(tags.contains(&("t0".to_owned(), "changed".to_owned())), "the value did not change: {tags:?}");
    ensure_eq!(tags.len(), quota, "tags");
    Ok(())
}

async fn delete_removes(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    add(c, &image, "env", "prod").await?;
    add(c, &image, "a", "").await?;
    let client = c.client(Who::Owner)?;
    call(
        "delete_image_tag",
        client.delete_image_tag().project_id(c.p1()).image_id(image.as_str()).key("env").send(),
    )
    .await?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("a", "")]), "tags");
    Ok(())
}

async fn delete_missing(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    add(c, &image, "a", "").await?;
    let r = c.owner(Request::new("DELETE", format!("{}/env", v2_tags_path(c, Who::Owner, &image)))).await?;
    r.expect_error(404, "IMG.0115")?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("a", "")]), "tags");
    Ok(())
}

async fn delete_any_key(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let keys = ["my key/é", "a+b", "中文", "100%"];
    for key in keys {
        put_native(c, &image, key).await?;
    }
    let client = c.client(Who::Owner)?;
    for key in keys {
        call(
            "delete_image_tag",
            client.delete_image_tag().project_id(c.p1()).image_id(image.as_str()).key(key).send(),
        )
        .await
        .map_err(|f| f.context(key))?;
    }
    ensure!(c.tags(&image).await?.is_empty(), "tags left");
    Ok(())
}

async fn delete_action_key(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    for key in ["action", "resource_instances"] {
        put_native(c, &image, key).await?;
        let r =
            c.owner(Request::new("DELETE", format!("{}/{key}", v2_tags_path(c, Who::Owner, &image)))).await?;
        r.expect(204).map_err(|f| f.context(key))?;
    }
    ensure!(c.tags(&image).await?.is_empty(), "tags left");
    Ok(())
}

async fn delete_lookup_n1(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let key = "k".repeat(c.target.limits.lookup_max + 1);
    let r = c.owner(Request::new("DELETE", format!("{}/{key}", v2_tags_path(c, Who::Owner, &image)))).await?;
    r.expect_error(400, "IMG.0115")?;
    Ok(())
}

async fn show_sorted(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    for (key, value) in [("zeta", "1"), ("Alpha", ""), ("beta", "2"), ("alpha", "x")] {
        add(c, &image, key, value).await?;
    }
    let client = c.client(Who::Owner)?;
    let list =
        call("list_image_tags", client.list_image_tags().project_id(c.p1()).image_id(image.as_str()).send())
            .await?;
    let got: Vec<(String, String)> = list.tags.into_iter().map(|t| (t.key, t.value)).collect();
    let mut sorted = got.clone();
    sorted.sort();
    ensure_eq!(got, sorted, "the order of op 9");
    Ok(())
}

async fn show_public(c: &Ctx) -> CaseResult {
    let public = c.image(Who::Other, json!({"visibility": "public", "tags": ["os=linux"]})).await?;
    ensure_eq!(c.tags_as(Who::Owner, &public).await?, pairs(&[("os", "linux")]), "the public image's tags");
    Ok(())
}

async fn show_invisible(c: &Ctx) -> CaseResult {
    let private = c.image(Who::Other, json!({"tags": ["secret=1"]})).await?;
    for id in [private, missing_id(), "nope".to_owned()] {
        let r = c.owner(Request::new("GET", v2_tags_path(c, Who::Owner, &id))).await?;
        r.expect_error(404, "IMG.0144").map_err(|f| f.context(format!("op 9 on {id}")))?;
    }
    Ok(())
}

fn batch_tag(key: &str, value: Option<&str>) -> Result<types::BatchTag, Failure> {
    Ok(types::BatchTag {
        key: key.try_into().map_err(|e| Failure::new(format!("key {key:?}: {e}")))?,
        value: match value {
            Some(value) => Some(value.try_into().map_err(|e| Failure::new(format!("value {value:?}: {e}")))?),
            None => None,
        },
    })
}

async fn batch_create(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let client = c.client(Who::Owner)?;
    let body = types::BatchAddOrDeleteTagsRequest {
        action: types::BatchAction::Create,
        tags: vec![batch_tag("env", Some("prod"))?, batch_tag("team", Some(""))?],
    };
    call(
        "batch_add_or_delete_tags",
        client.batch_add_or_delete_tags().project_id(c.p1()).image_id(image.as_str()).body(body).send(),
    )
    .await?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("env", "prod"), ("team", "")]), "tags");
    Ok(())
}

async fn batch_all_or_nothing(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    add(c, &image, "keep", "").await?;
    for body in [
        json!({"action": "create", "tags": [{"key": "new", "value": "1"}, {"key": "bad key", "value": "x"}]}),
        json!({"action": "create", "tags": [{"key": "new", "value": "1"}, {"key": "novalue"}]}),
        json!({"action": "create", "tags": [{"key": "new", "value": "1"}, {"key": "new", "value": "2"}]}),
    ] {
        batch(c, &image, &body).await?.expect_error(400, "IMG.0115").map_err(|f| f.context(&body))?;
    }
    ensure_eq!(c.tags(&image).await?, pairs(&[("keep", "")]), "nothing was written");
    Ok(())
}

async fn batch_empty(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    batch(c, &image, &json!({"action": "create", "tags": []})).await?.expect_error(400, "IMG.0115")?;
    batch(c, &image, &json!({"action": "delete", "tags": []})).await?.expect_error(400, "IMG.0115")?;
    Ok(())
}

async fn batch_action(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    for body in [
        json!({"action": "Create", "tags": [{"key": "a", "value": "b"}]}),
        json!({"action": "update", "tags": [{"key": "a", "value": "b"}]}),
        json!({"action": "create"}),
        json!({"tags": [{"key": "a", "value": "b"}]}),
    ] {
        batch(c, &image, &body).await?.expect_error(400, "IMG.0001").map_err(|f| f.context(&body))?;
    }
    ensure!(c.tags(&image).await?.is_empty(), "a refused batch wrote a tag");
    Ok(())
}

fn new_tags(n: usize) -> Vec<Value> {
    (0..n).map(|i| json!({"key": format!("n{i}"), "value": ""})).collect()
}

async fn batch_quota_n(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    add(c, &image, "keep", "").await?;
    let quota = c.target.limits.tags_per_image;
    batch(c, &image, &json!({"action": "create", "tags": new_tags(quota - 1)})).await?.expect(204)?;
    ensure_eq!(c.tags(&image).await?.len(), quota, "tags");
    Ok(())
}

async fn batch_quota_n1(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    add(c, &image, "keep", "").await?;
    let quota = c.target.limits.tags_per_image;
    batch(c, &image, &json!({"action": "create", "tags": new_tags(quota)}))
        .await?
        .expect_error(400, "IMG.0116")?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("keep", "")]), "nothing was written");
    Ok(())
}

async fn batch_delete(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    add(c, &image, "env", "prod").await?;
    add(c, &image, "team", "").await?;
    add(c, &image, "other", "x").await?;
    let body = json!({"action": "delete", "tags": [{"key": "env", "value": "not-compared"}, {"key": "missing"}, {"key": "other"}]});
    batch(c, &image, &body).await?.expect(204)?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("team", "")]), "tags");
    Ok(())
}

async fn batch_delete_invalid(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    add(c, &image, "a", "").await?;
    let long = "k".repeat(c.target.limits.lookup_max + 1);
    batch(c, &image, &json!({"action": "delete", "tags": [{"key": long}]}))
        .await?
        .expect_error(400, "IMG.0115")?;
    batch(c, &image, &json!({"action": "delete", "tags": [{"key": "a"}, {"key": "a"}]}))
        .await?
        .expect_error(400, "IMG.0115")?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("a", "")]), "nothing was deleted");
    Ok(())
}

/// Op 10 as `who`: key -> values, for the keys that start with `prefix`, in the order given.
async fn aggregate_of(c: &Ctx, who: Who, prefix: &str) -> Result<Vec<(String, Vec<String>)>, Failure> {
    let client = c.client(who)?;
    let all = call("list_images_tags", client.list_images_tags().project_id(c.project(who)).send()).await?;
    Ok(all.tags.into_iter().filter(|t| t.key.starts_with(prefix)).map(|t| (t.key, t.values)).collect())
}

async fn aggregate(c: &Ctx) -> CaseResult {
    let k = format!("k{}", c.target.run_id);
    c.image(Who::Owner, json!({"tags": [format!("{k}env=prod"), format!("{k}team"), format!("{k}x=b")]}))
        .await?;
    c.image(Who::Owner, json!({"tags": [format!("{k}env=dev"), format!("{k}x=a"), format!("{k}team")]}))
        .await?;
    c.image(Who::Owner, json!({"tags": [format!("{k}env")]})).await?;
    let want = vec![
        (format!("{k}env"), vec!["".to_owned(), "dev".into(), "prod".into()]),
        (format!("{k}team"), vec!["".to_owned()]),
        (format!("{k}x"), vec!["a".to_owned(), "b".into()]),
    ];
    let mut got = aggregate_of(c, Who::Owner, &k).await?;
    got.sort();
    ensure_eq!(got, want, "op 10 for this run's keys");
    Ok(())
}

async fn aggregate_scope(c: &Ctx) -> CaseResult {
    let k = format!("k{}", c.target.run_id);
    c.image(Who::Owner, json!({"tags": [format!("{k}mine=1")]})).await?;
    c.image(Who::Other, json!({"visibility": "public", "tags": [format!("{k}foreign=1")]})).await?;
    let got = aggregate_of(c, Who::Owner, &k).await?;
    ensure_eq!(got, vec![(format!("{k}mine"), vec!["1".to_owned()])], "op 10 for this run's keys");
    Ok(())
}

async fn aggregate_sorted(c: &Ctx) -> CaseResult {
    let k = format!("k{}", c.target.run_id);
    c.image(Who::Owner, json!({"tags": [format!("{k}b=z"), format!("{k}a=2")]})).await?;
    c.image(Who::Owner, json!({"tags": [format!("{k}b=y"), format!("{k}a=10"), format!("{k}C")]})).await?;
    let got = aggregate_of(c, Who::Owner, &k).await?;
    let mut sorted = got.clone();
    sorted.sort();
    for (_, values) in &mut sorted {
        values.sort();
    }
    ensure_eq!(got, sorted, "op 10's order");
    let _ = seg;
    Ok(())
}

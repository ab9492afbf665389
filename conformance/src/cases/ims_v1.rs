//! Ops 3 and 4, the IMS v1 tag operations: `PUT` and `GET /v1/cloudimages/tags`.

use ims_tags_client::types;
use serde_json::{Value, json};

use crate::case::{Case, Ctx, Need, pairs, seg};
use crate::cases::{call, missing_id};
use crate::http::Request;
use crate::outcome::{CaseResult, Failure};
use crate::target::Who;
use crate::{ensure, ensure_eq};

pub(crate) fn cases() -> Vec<Case> {
    vec![
        case!(
            contract,
            "ims.v1.put.dotted_tag_splits_at_the_first_dot",
            ImsV1,
            dotted,
            "op 3 `tag` \"key.value\" splits at the first `.`",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v1.put.tag_without_a_dot_has_an_empty_value",
            ImsV1,
            no_dot,
            "op 3 `tag` without `.` means value \"\"",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v1.put.image_tag_object",
            ImsV1,
            object,
            "op 3 accepts {image_id, image_tag: {key, value}}",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v1.put.existing_key_gets_the_new_value",
            ImsV1,
            upsert,
            "op 3 on an existing key sets its value",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v1.put.key_and_value_at_the_length_limits",
            ImsV1,
            lengths_n,
            "a 36-character key and a 43-character value are accepted",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v1.put.key_over_the_length_limit_is_400",
            ImsV1,
            key_n1,
            "a 37-character key is 400 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v1.put.value_over_the_length_limit_is_400",
            ImsV1,
            value_n1,
            "a 44-character value is 400 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v1.put.key_outside_the_character_set_is_400",
            ImsV1,
            key_charset,
            "a key with a space is 400 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v1.put.value_outside_the_character_set_is_400",
            ImsV1,
            value_charset,
            "a value with `/` is 400 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v1.put.cjk_keys_and_values_are_accepted",
            ImsV1,
            cjk,
            "CJK U+4E00-U+9FFF is in the key and value sets",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v1.put.unknown_fields_are_ignored",
            ImsV1,
            unknown_fields,
            "unknown JSON fields are ignored",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v1.put.empty_body_is_400_img_0007",
            ImsV1,
            empty_body,
            "op 3 without a body is 400 IMG.0007",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v1.put.malformed_json_is_400",
            ImsV1,
            malformed,
            "op 3 with malformed JSON or a wrong type is 400 IMG.0001 and writes nothing",
            Need::Images(1)
        ),
        case!(
            choice,
            "ims.v1.put.structural_problems_are_400_img_0001",
            ImsV1,
            structural,
            "op 3 without image_id, or with both or neither of tag and image_tag, is 400 IMG.0001",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v1.put.missing_image_is_404",
            ImsV1,
            missing_image,
            "op 3 on an image that does not exist (or a malformed id) is 404 IMG.0144"
        ),
        case!(
            contract,
            "ims.v1.put.over_the_quota_is_400",
            ImsV1,
            quota_n1,
            "op 3 adding a key over the quota is 400 IMG.0116",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v1.put.at_the_quota_is_accepted",
            ImsV1,
            quota_n,
            "op 3 adding the quota-th key is accepted",
            Need::Images(1)
        ),
        case!(
            contract,
            "ims.v1.put.refuses_foreign_images",
            ImsV1,
            foreign,
            "op 3 on a visible image of another project is 403, on an invisible one 404",
            Need::Registry,
            Need::Other
        ),
        case!(
            contract,
            "ims.v1.list.string_view_of_owned_and_public_images",
            ImsV1,
            list_scope,
            "op 4 lists the distinct tag strings of owned and public images, sorted by bytes",
            Need::Registry,
            Need::Other
        ),
        case!(
            contract,
            "ims.v1.list.filters_by_imagetype",
            ImsV1,
            list_imagetype,
            "__imagetype=gold is public images, private is owned ones",
            Need::Registry,
            Need::Other
        ),
        case!(
            contract,
            "ims.v1.list.filters_by_attributes_and_properties",
            ImsV1,
            list_filters,
            "exact id, name, status, min_disk and extra properties (__os_type, architecture) filter",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v1.list.filters_by_time",
            ImsV1,
            list_time,
            "created_at/updated_at as op:time in both formats",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v1.list.ignores_member_status_and_enterprise_project_id",
            ImsV1,
            list_ignored,
            "member_status, enterprise_project_id and unknown parameters are ignored",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v1.list.pages_with_limit_and_page",
            ImsV1,
            list_pages,
            "limit and page page the sorted list",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v1.list.page_past_the_end_is_empty",
            ImsV1,
            list_past_end,
            "a page past the end is {\"tags\": []}",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v1.list.page_without_limit_is_ignored",
            ImsV1,
            list_page_alone,
            "page without limit is ignored",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v1.list.limit_and_page_must_be_positive_integers",
            ImsV1,
            list_bad_paging,
            "limit and page are integers >= 1, else 400 IMG.0001"
        ),
        case!(
            choice,
            "ims.v1.list.malformed_filters_are_400",
            ImsV1,
            list_bad_filters,
            "a malformed number, time condition or __imagetype is 400 IMG.0001"
        ),
        case!(
            choice,
            "ims.v1.list.filters_by_tag_and_shared_imagetype",
            ImsV1,
            list_choice_filters,
            "tag= filters in the string view; __imagetype=shared matches nothing",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v1.list.through_the_generated_client",
            ImsV1,
            list_client,
            "op 4 through the generated client, with filters and paging",
            Need::Registry
        ),
    ]
}

fn v1_body(image: &str, tag: Result<&str, (&str, &str)>) -> types::builder::CreateOrUpdateTagsRequest {
    let body = types::CreateOrUpdateTagsRequest::builder().image_id(image.to_owned());
    match tag {
        Ok(dotted) => body.tag(types::CreateOrUpdateTagsRequestTag::try_from(dotted.to_owned()).ok()),
        Err((key, value)) => body.image_tag(Some(types::ImsTag {
            key: key.try_into().unwrap_or_else(|_| "invalid".try_into().expect("a valid key")),
            value: value.try_into().unwrap_or_else(|_| "".try_into().expect("a valid value")),
        })),
    }
}

/// Op 3 through the generated client.
async fn put(c: &Ctx, image: &str, tag: Result<&str, (&str, &str)>) -> CaseResult {
    let client = c.client(Who::Owner)?;
    call("create_or_update_tags", client.create_or_update_tags().body(v1_body(image, tag)).send()).await
}

/// Op 3, raw.
async fn put_raw(c: &Ctx, body: &Value) -> Result<crate::http::Response, Failure> {
    c.owner(Request::new("PUT", "/v1/cloudimages/tags").json(body)).await
}

async fn dotted(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    put(c, &image, Ok("ver.1.2")).await?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("ver", "1.2")]), "tags");
    Ok(())
}

async fn no_dot(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    put(c, &image, Ok("solo")).await?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("solo", "")]), "tags");
    Ok(())
}

async fn object(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    put(c, &image, Err(("env", "prod"))).await?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("env", "prod")]), "tags");
    Ok(())
}

async fn upsert(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    put(c, &image, Ok("env.prod")).await?;
    put(c, &image, Ok("env.dev")).await?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("env", "dev")]), "tags");
    Ok(())
}

async fn lengths_n(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let l = c.target.limits;
    let (key, value) = ("k".repeat(l.ims_key_max), "v".repeat(l.ims_value_max));
    put_raw(c, &json!({"image_id": image, "tag": format!("{key}.{value}")})).await?.expect(204)?;
    ensure_eq!(c.tags(&image).await?, pairs(&[(&key, &value)]), "tags");
    Ok(())
}

/// Op 3 with `body` (its image_id set) must be 400 IMG.0115 and write nothing.
async fn invalid_tag(c: &Ctx, mut body: Value) -> CaseResult {
    let image = c.own_image().await?;
    body["image_id"] = json!(image);
    put_raw(c, &body).await?.expect_error(400, "IMG.0115")?;
    ensure!(c.tags(&image).await?.is_empty(), "the refused tag was written");
    Ok(())
}

async fn key_n1(c: &Ctx) -> CaseResult {
    invalid_tag(c, json!({"tag": format!("{}.v", "k".repeat(c.target.limits.ims_key_max + 1))})).await
}

async fn value_n1(c: &Ctx) -> CaseResult {
    invalid_tag(c, json!({"tag": format!("k.{}", "v".repeat(c.target.limits.ims_value_max + 1))})).await
}

async fn key_charset(c: &Ctx) -> CaseResult {
    invalid_tag(c, json!({"image_tag": {"key": "a b", "value": ""}})).await
}

async fn value_charset(c: &Ctx) -> CaseResult {
    invalid_tag(c, json!({"image_tag": {"key": "k", "value": "a/b"}})).await
}

async fn cjk(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    put_raw(c, &json!({"image_id": image, "image_tag": {"key": "中文键", "value": "值.v1"}}))
        .await?
        .expect(204)?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("中文键", "值.v1")]), "tags");
    Ok(())
}

async fn unknown_fields(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    put_raw(c, &json!({"image_id": image, "tag": "k.v", "unknown": [1], "image_tag_x": {}}))
        .await?
        .expect(204)?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("k", "v")]), "tags");
    Ok(())
}

async fn empty_body(c: &Ctx) -> CaseResult {
    c.owner(Request::new("PUT", "/v1/cloudimages/tags")).await?.expect_error(400, "IMG.0007")?;
    Ok(())
}

async fn malformed(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    c.owner(Request::new("PUT", "/v1/cloudimages/tags").body("{")).await?.expect_error(400, "IMG.0001")?;
    put_raw(c, &json!({"image_id": image, "tag": 5})).await?.expect_error(400, "IMG.0001")?;
    put_raw(c, &json!({"image_id": image, "image_tag": "k.v"})).await?.expect_error(400, "IMG.0001")?;
    ensure!(c.tags(&image).await?.is_empty(), "a refused request wrote a tag");
    Ok(())
}

async fn structural(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    for body in [
        json!({"tag": "a.b"}),
        json!({"image_id": image}),
        json!({"image_id": image, "tag": "a.b", "image_tag": {"key": "a", "value": "b"}}),
    ] {
        put_raw(c, &body).await?.expect_error(400, "IMG.0001").map_err(|f| f.context(&body))?;
    }
    ensure!(c.tags(&image).await?.is_empty(), "a refused request wrote a tag");
    Ok(())
}

async fn missing_image(c: &Ctx) -> CaseResult {
    for id in [missing_id(), "not-a-uuid".to_owned()] {
        put_raw(c, &json!({"image_id": id, "tag": "a.b"})).await?.expect_error(404, "IMG.0144")?;
    }
    Ok(())
}

async fn quota_n1(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let quota = c.target.limits.tags_per_image;
    crate::cases::fill(c, &image, "t", quota).await?;
    put_raw(c, &json!({"image_id": image, "tag": "over.x"})).await?.expect_error(400, "IMG.0116")?;
    ensure_eq!(c.tags(&image).await?.len(), quota, "tags");
    Ok(())
}

async fn quota_n(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let quota = c.target.limits.tags_per_image;
    crate::cases::fill(c, &image, "t", quota - 1).await?;
    put_raw(c, &json!({"image_id": image, "tag": "last.x"})).await?.expect(204)?;
    ensure_eq!(c.tags(&image).await?.len(), quota, "tags");
    Ok(())
}

async fn foreign(c: &Ctx) -> CaseResult {
    let public = c.image(Who::Other, json!({"visibility": "public"})).await?;
    let hidden = c.image(Who::Other, json!({})).await?;
    let r = put_raw(c, &json!({"image_id": public, "tag": "a.b"})).await?;
    r.expect_error(403, "IMG.0026").map_err(|f| f.context("a visible image of another project"))?;
    let r = put_raw(c, &json!({"image_id": hidden, "tag": "a.b"})).await?;
    r.expect_error(404, "IMG.0144").map_err(|f| f.context("an invisible image"))?;
    Ok(())
}

/// Op 4 with `query` as the owner: the tags.
async fn list(c: &Ctx, query: &str) -> Result<Vec<String>, Failure> {
    let r = c.owner(Request::new("GET", format!("/v1/cloudimages/tags?{query}"))).await?;
    let body = r.expect_json(200)?;
    serde_json::from_value(body["tags"].clone()).map_err(|_| r.fail("`tags` is not a list of strings"))
}

/// Images sharing one unique name (so that `name=` scopes every query): two of the owner's, and, with another
/// identity, a public and a private one of the other project. Returns the name and the owner's image ids.
async fn fixture(c: &Ctx, with_other: bool) -> Result<(String, Vec<String>), Failure> {
    let name = c.unique_name("v1");
    let a = c
        .image(Who::Owner, json!({"name": name, "min_disk": 40, "__os_type": "Linux", "architecture": "x86", "tags": ["os=linux", "common"]}))
        .await?;
    let b = c
        .image(
            Who::Owner,
            json!({"name": name, "min_disk": 20, "__os_type": "Windows", "tags": ["os=windows", "common"]}),
        )
        .await?;
    if with_other {
        c.image(Who::Other, json!({"name": name, "visibility": "public", "tags": ["gold"]})).await?;
        c.image(Who::Other, json!({"name": name, "tags": ["secret"]})).await?;
    }
    Ok((seg(&name), vec![a, b]))
}

async fn list_scope(c: &Ctx) -> CaseResult {
    let (name, _) = fixture(c, true).await?;
    ensure_eq!(
        list(c, &format!("name={name}")).await?,
        vec!["common", "gold", "os=linux", "os=windows"],
        "op 4"
    );
    Ok(())
}

async fn list_imagetype(c: &Ctx) -> CaseResult {
    let (name, _) = fixture(c, true).await?;
    ensure_eq!(list(c, &format!("name={name}&__imagetype=gold")).await?, vec!["gold"], "gold");
    ensure_eq!(
        list(c, &format!("name={name}&__imagetype=private")).await?,
        vec!["common", "os=linux", "os=windows"],
        "private"
    );
    Ok(())
}

async fn list_filters(c: &Ctx) -> CaseResult {
    let (name, ids) = fixture(c, false).await?;
    let cases = [
        (format!("name={name}&__os_type=Linux"), vec!["common", "os=linux"]),
        (format!("name={name}&architecture=x86&min_disk=40"), vec!["common", "os=linux"]),
        (format!("name={name}&min_disk=20"), vec!["common", "os=windows"]),
        (format!("id={}", ids[1]), vec!["common", "os=windows"]),
        (format!("name={name}&status=queued"), vec!["common", "os=linux", "os=windows"]),
        (format!("name={name}&owner={}", seg(&c.p1())), vec!["common", "os=linux", "os=windows"]),
        (format!("name={name}&visibility=private"), vec!["common", "os=linux", "os=windows"]),
        (format!("name={name}&visibility=public"), vec![]),
        (format!("name={name}&status=active"), vec![]),
    ];
    for (query, want) in cases {
        ensure_eq!(list(c, &query).await?, want, "{query}");
    }
    Ok(())
}

async fn list_time(c: &Ctx) -> CaseResult {
    let (name, _) = fixture(c, false).await?;
    ensure_eq!(
        list(c, &format!("name={name}&created_at=gt:2000-01-01T00:00:00Z")).await?.len(),
        3,
        "created_at=gt:2000"
    );
    ensure!(
        list(c, &format!("name={name}&created_at=lt:2000-01-01%2000:00:00")).await?.is_empty(),
        "created_at=lt:2000"
    );
    ensure_eq!(
        list(c, &format!("name={name}&updated_at=gte:2000-01-01T00:00:00Z")).await?.len(),
        3,
        "updated_at=gte:2000"
    );
    ensure!(
        list(c, &format!("name={name}&updated_at=lte:2000-01-01T00:00:00Z")).await?.is_empty(),
        "updated_at=lte:2000"
    );
    Ok(())
}

async fn list_ignored(c: &Ctx) -> CaseResult {
    let (name, _) = fixture(c, false).await?;
    let query = format!("name={name}&member_status=accepted&enterprise_project_id=0&no_such_parameter=1");
    ensure_eq!(list(c, &query).await?.len(), 3, "{query}");
    Ok(())
}

async fn list_pages(c: &Ctx) -> CaseResult {
    let (name, _) = fixture(c, false).await?;
    ensure_eq!(list(c, &format!("name={name}&limit=2")).await?, vec!["common", "os=linux"], "page 1");
    ensure_eq!(list(c, &format!("name={name}&limit=2&page=2")).await?, vec!["os=windows"], "page 2");
    Ok(())
}

async fn list_past_end(c: &Ctx) -> CaseResult {
    let (name, _) = fixture(c, false).await?;
    ensure!(list(c, &format!("name={name}&limit=2&page=3")).await?.is_empty(), "page 3");
    Ok(())
}

async fn list_page_alone(c: &Ctx) -> CaseResult {
    let (name, _) = fixture(c, false).await?;
    ensure_eq!(list(c, &format!("name={name}&page=2")).await?.len(), 3, "page without limit");
    Ok(())
}

async fn list_bad_paging(c: &Ctx) -> CaseResult {
    for bad in ["limit=0", "page=0&limit=1", "limit=x", "limit=-1", "page=y&limit=1"] {
        c.owner(Request::new("GET", format!("/v1/cloudimages/tags?{bad}")))
            .await?
            .expect_error(400, "IMG.0001")
            .map_err(|f| f.context(bad))?;
    }
    Ok(())
}

async fn list_bad_filters(c: &Ctx) -> CaseResult {
    for bad in ["min_disk=big", "created_at=after:2020-01-01", "created_at=gt:yesterday", "__imagetype=weird"]
    {
        c.owner(Request::new("GET", format!("/v1/cloudimages/tags?{bad}")))
            .await?
            .expect_error(400, "IMG.0001")
            .map_err(|f| f.context(bad))?;
    }
    Ok(())
}

async fn list_choice_filters(c: &Ctx) -> CaseResult {
    let (name, _) = fixture(c, false).await?;
    ensure_eq!(
        list(c, &format!("name={name}&tag=os%3Dwindows")).await?,
        vec!["common", "os=windows"],
        "tag=os=windows"
    );
    ensure!(list(c, &format!("name={name}&__imagetype=shared")).await?.is_empty(), "__imagetype=shared");
    Ok(())
}

async fn list_client(c: &Ctx) -> CaseResult {
    let name = c.unique_name("v1client");
    c.image(Who::Owner, json!({"name": name, "tags": ["os=linux", "common"]})).await?;
    let client = c.client(Who::Owner)?;
    let one = std::num::NonZeroU64::MIN;
    let two = one.saturating_add(1);
    let page =
        call("list_tags", client.list_tags().name(&name).imagetype("private").limit(one).page(two).send())
            .await?;
    ensure_eq!(page.tags, vec!["os=linux".to_owned()], "page 2 of size 1");
    Ok(())
}

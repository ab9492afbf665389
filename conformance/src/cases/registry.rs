//! The Glance image registry subset: create, show, list, delete, and the upload that is not implemented.

use std::collections::BTreeSet;

use ims_tags_client::types;
use serde_json::{Value, json};

use crate::case::{Case, Ctx, Need, seg};
use crate::cases::{call, call_error, missing_id};
use crate::http::Request;
use crate::outcome::{CaseResult, Failure};
use crate::target::{Family, Who};
use crate::{ensure, ensure_eq};

pub(crate) fn cases() -> Vec<Case> {
    vec![
        case!(
            contract,
            "registry.create.new_images_are_queued",
            Registry,
            new_images_are_queued,
            "POST /v2/images answers 201 with the image document; new images are queued"
        ),
        case!(
            contract,
            "registry.create.document_has_every_field",
            Registry,
            document_fields,
            "the image document has id, name, status, visibility, owner, protected, os_hidden, tags, formats, sizes, checksum, timestamps, self, file, schema"
        ),
        case!(
            contract,
            "registry.create.owner_is_the_callers_project",
            Registry,
            owner_is_project,
            "a new image is owned by the caller's project"
        ),
        case!(
            contract,
            "registry.create.visibility_defaults_to_private",
            Registry,
            private_by_default,
            "visibility defaults to private"
        ),
        case!(
            contract,
            "registry.create.any_project_may_create_public_images",
            Registry,
            public_allowed,
            "any project may create public images"
        ),
        case!(
            contract,
            "registry.create.timestamps_are_seconds_utc",
            Registry,
            timestamps,
            "created_at and updated_at are YYYY-MM-DDTHH:MM:SSZ"
        ),
        case!(
            contract,
            "registry.create.size_virtual_size_checksum_may_be_null",
            Registry,
            null_sizes,
            "size, virtual_size and checksum of a queued image are null"
        ),
        case!(
            contract,
            "registry.create.extra_properties_are_returned_as_given",
            Registry,
            extra_properties,
            "other string properties are stored and returned as given"
        ),
        case!(
            contract,
            "registry.create.tags_in_the_body_collapse_duplicates",
            Registry,
            body_tags,
            "tags in the create body are parsed in the string view; duplicates collapse"
        ),
        case!(
            contract,
            "registry.create.two_values_for_one_key_is_400",
            Registry,
            body_tags_two_values,
            "two values for one key in the create body is 400 IMG.0115"
        ),
        case!(
            contract,
            "registry.create.tag_value_outside_the_ims_set_is_400",
            Registry,
            body_tag_bad_value,
            "a value in the create body follows the IMS value rule: 400 IMG.0115"
        ),
        case!(
            contract,
            "registry.create.tag_with_trailing_whitespace_is_400",
            Registry,
            body_tag_whitespace,
            "a key in the create body follows the native rule: 400 IMG.0115"
        ),
        case!(
            contract,
            "registry.create.tags_at_the_quota_are_accepted",
            Registry,
            body_tags_quota_n,
            "the quota's number of tags in the create body is accepted"
        ),
        case!(
            contract,
            "registry.create.tags_over_the_quota_is_413",
            Registry,
            body_tags_quota_n1,
            "one tag over the quota in the create body is 413 IMG.0116 and creates nothing"
        ),
        case!(
            contract,
            "registry.create.empty_body_is_400_img_0007",
            Registry,
            empty_body,
            "POST /v2/images without a body is 400 IMG.0007"
        ),
        case!(
            contract,
            "registry.create.invalid_fields_are_400",
            Registry,
            invalid_fields,
            "a wrong visibility, a negative or non-integer size, tags not a list, a name over 255 characters: 400 IMG.0001, nothing created"
        ),
        case!(
            choice,
            "registry.create.unknown_formats_and_read_only_fields_are_400",
            Registry,
            choice_fields,
            "formats outside Glance's defaults, read-only attributes and a non-UUID id are 400 IMG.0001"
        ),
        case!(
            choice,
            "registry.create.a_chosen_id_is_kept_and_a_taken_one_is_409",
            Registry,
            chosen_id,
            "an id may be given; an id that exists is 409"
        ),
        case!(
            contract,
            "registry.show.public_images_are_readable_by_all",
            Registry,
            show_public,
            "a public image of another project can be shown",
            Need::Other
        ),
        case!(
            contract,
            "registry.show.private_image_of_another_project_is_404",
            Registry,
            show_private,
            "another project's private image is 404 IMG.0144",
            Need::Other
        ),
        case!(
            contract,
            "registry.show.shared_and_community_are_owner_only",
            Registry,
            show_shared_community,
            "shared and community images behave as owner-only: 404 for others",
            Need::Other
        ),
        case!(
            contract,
            "registry.show.malformed_id_is_404",
            Registry,
            show_malformed,
            "a malformed image id is 404 IMG.0144"
        ),
        case!(
            contract,
            "registry.show.tags_are_sorted_by_bytes",
            Registry,
            show_sorted,
            "the string view is sorted by bytes"
        ),
        case!(
            contract,
            "registry.list.tag_filter_is_exact_and_case_sensitive",
            Registry,
            list_tag_exact,
            "?tag= matches exactly and case-sensitively"
        ),
        case!(
            contract,
            "registry.list.repeated_tag_means_all",
            Registry,
            list_tag_and,
            "repeated ?tag= means AND"
        ),
        case!(
            contract,
            "registry.list.tag_values_are_stripped",
            Registry,
            list_tag_stripped,
            "?tag= values are stripped of surrounding whitespace, as Glance does"
        ),
        case!(
            contract,
            "registry.list.owned_and_public_images",
            Registry,
            list_owned_and_public,
            "the list has the caller's images and public images, not other projects' private ones",
            Need::Other
        ),
        case!(
            contract,
            "registry.list.filters_by_name_status_and_visibility",
            Registry,
            list_filters,
            "name, status and visibility filter the list"
        ),
        case!(
            choice,
            "registry.list.unknown_sort_keys_and_malformed_markers_are_400",
            Registry,
            list_invalid_choice,
            "sort_key outside Glance's list and a marker that is no UUID are 400 IMG.0001"
        ),
        case!(
            choice,
            "registry.create.location_names_the_image",
            Registry,
            location,
            "the 201 of POST /v2/images has Location /v2/images/{id}"
        ),
        case!(
            contract,
            "registry.list.hidden_images_need_os_hidden_true",
            Registry,
            list_hidden,
            "os_hidden images are listed only with os_hidden=true"
        ),
        case!(
            contract,
            "registry.list.booleans_parse_as_glance_does",
            Registry,
            list_booleans,
            "os_hidden accepts true/True/1/yes/on/y/t and their negatives; anything else is 400"
        ),
        case!(
            contract,
            "registry.list.sorts_by_name",
            Registry,
            list_sorted,
            "sort_key=name&sort_dir=asc|desc orders by name"
        ),
        case!(
            contract,
            "registry.list.through_the_generated_client",
            Registry,
            list_client,
            "GET /v2/images through the generated client: repeated tag, sort_key, sort_dir"
        ),
        case!(
            contract,
            "registry.list.pages_follow_next",
            Registry,
            list_pages,
            "limit pages the list; `next` leads through every image exactly once"
        ),
        case!(
            contract,
            "registry.list.invalid_parameters_are_400",
            Registry,
            list_invalid,
            "an invalid limit, sort_dir, visibility or unknown marker is 400 IMG.0001"
        ),
        case!(
            contract,
            "registry.delete.removes_the_image",
            Registry,
            delete_image,
            "DELETE /v2/images/{id} answers 204; showing it again is 404"
        ),
        case!(
            contract,
            "registry.delete.a_body_is_accepted_and_ignored",
            Registry,
            delete_with_body,
            "an optional body such as {\"delete_backup\": false} is accepted and ignored"
        ),
        case!(
            contract,
            "registry.delete.protected_is_403",
            Registry,
            delete_protected,
            "a protected image cannot be deleted: 403 IMG.0026, nothing lost"
        ),
        case!(
            contract,
            "registry.delete.another_projects_public_image_is_403",
            Registry,
            delete_public_of_other,
            "deleting a visible image one does not own is 403 IMG.0026",
            Need::Other
        ),
        case!(
            contract,
            "registry.delete.another_projects_private_image_is_404",
            Registry,
            delete_private_of_other,
            "deleting an image one cannot see is 404 IMG.0144",
            Need::Other
        ),
        case!(
            contract,
            "registry.delete.the_image_vanishes_from_every_view",
            Registry,
            vanishes,
            "a deleted image vanishes from every view at once, its tags with it"
        ),
        case!(
            contract,
            "registry.tags.protected_images_can_be_tagged",
            Registry,
            protected_tagging,
            "tag operations work on protected images"
        ),
        case!(
            contract,
            "registry.upload.is_501_in_the_envelope",
            Registry,
            upload_501,
            "PUT /v2/images/{id}/file is 501 in the error envelope"
        ),
        case!(
            choice,
            "registry.upload.is_501_img_0501",
            Registry,
            upload_code,
            "the 501 of the upload carries IMG.0501"
        ),
        case!(
            choice,
            "registry.upload.checks_the_image_before_501",
            Registry,
            upload_checks_image,
            "the upload answers 404 for an invisible image and 403 for one not owned, before 501",
            Need::Other
        ),
    ]
}

/// Creates an image as the owner with `body` and returns the answer's document.
async fn create(c: &Ctx, body: Value) -> Result<Value, Failure> {
    let id = c.image(Who::Owner, body).await?;
    show(c, Who::Owner, &id).await
}

async fn show(c: &Ctx, who: Who, id: &str) -> Result<Value, Failure> {
    c.send(who, Request::new("GET", format!("/v2/images/{}", seg(id)))).await?.expect_json(200)
}

async fn new_images_are_queued(c: &Ctx) -> CaseResult {
    let body = json!({"name": c.unique_name("queued"), crate::target::RUN_PROPERTY: c.target.run_id});
    let r = c.owner(Request::new("POST", "/v2/images").json(&body)).await?;
    let doc = r.expect_json(201)?;
    if let Some(id) = doc["id"].as_str() {
        let _ = c.owner(Request::new("DELETE", format!("/v2/images/{}", seg(id)))).await;
    }
    if doc["status"] != "queued" {
        return Err(r.fail("the new image is not queued"));
    }
    Ok(())
}

async fn document_fields(c: &Ctx) -> CaseResult {
    let client = c.client(Who::Owner)?;
    let mut extra = std::collections::HashMap::new();
    extra.insert(crate::target::RUN_PROPERTY.to_owned(), c.target.run_id.clone());
    let body = types::CreateImageRequest::builder()
        .name(types::CreateImageRequestName::try_from(c.unique_name("document")).ok())
        .extra(extra);
    let made = call("glance_create_image", client.glance_create_image().body(body).send()).await?;
    let id = made.id;
    c.adopt(Who::Owner, &id);
    let shown = call("glance_show_image", client.glance_show_image().image_id(id.as_str()).send()).await?;
    ensure_eq!(shown.id, id, "id");
    let doc = show(c, Who::Owner, &id).await?;
    for field in [
        "id",
        "name",
        "status",
        "visibility",
        "owner",
        "protected",
        "os_hidden",
        "tags",
        "container_format",
        "disk_format",
        "min_disk",
        "min_ram",
        "size",
        "virtual_size",
        "checksum",
        "created_at",
        "updated_at",
        "self",
        "file",
        "schema",
    ] {
        ensure!(doc.get(field).is_some(), "{field} is missing from {doc}");
    }
    ensure_eq!(doc["self"], json!(format!("/v2/images/{id}")), "self");
    ensure_eq!(doc["file"], json!(format!("/v2/images/{id}/file")), "file");
    ensure_eq!(doc["schema"], json!("/v2/schemas/image"), "schema");
    ensure!(doc["tags"].is_array(), "tags is always a list: {doc}");
    Ok(())
}

async fn owner_is_project(c: &Ctx) -> CaseResult {
    let doc = create(c, json!({})).await?;
    ensure_eq!(doc["owner"], json!(c.p1()), "owner");
    Ok(())
}

async fn private_by_default(c: &Ctx) -> CaseResult {
    let doc = create(c, json!({})).await?;
    ensure_eq!(doc["visibility"], json!("private"), "visibility");
    ensure_eq!(doc["min_disk"], json!(0), "min_disk");
    ensure_eq!(doc["protected"], json!(false), "protected");
    Ok(())
}

async fn public_allowed(c: &Ctx) -> CaseResult {
    let doc = create(c, json!({"visibility": "public"})).await?;
    ensure_eq!(doc["visibility"], json!("public"), "visibility");
    Ok(())
}

async fn timestamps(c: &Ctx) -> CaseResult {
    let doc = create(c, json!({})).await?;
    for field in ["created_at", "updated_at"] {
        let stamp = doc[field].as_str().unwrap_or_default();
        let shape = stamp.len() == 20
            && stamp.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                10 => b == b'T',
                13 | 16 => b == b':',
                19 => b == b'Z',
                _ => b.is_ascii_digit(),
            });
        ensure!(shape, "{field} is {stamp:?}, not YYYY-MM-DDTHH:MM:SSZ");
    }
    Ok(())
}

async fn null_sizes(c: &Ctx) -> CaseResult {
    let doc = create(c, json!({})).await?;
    for field in ["size", "virtual_size", "checksum"] {
        ensure!(doc.get(field).is_some_and(|v| v.is_null()), "{field} of a queued image: {}", doc[field]);
    }
    Ok(())
}

async fn extra_properties(c: &Ctx) -> CaseResult {
    let doc =
        create(c, json!({"__os_type": "Linux", "architecture": "x86_64", "__platform": "Ubuntu"})).await?;
    ensure_eq!(doc["__os_type"], json!("Linux"), "__os_type");
    ensure_eq!(doc["architecture"], json!("x86_64"), "architecture");
    ensure_eq!(doc["__platform"], json!("Ubuntu"), "__platform");
    Ok(())
}

async fn body_tags(c: &Ctx) -> CaseResult {
    let doc = create(c, json!({"tags": ["b", "a", "a", "os=linux"]})).await?;
    let tags: BTreeSet<String> = serde_json::from_value(doc["tags"].clone()).unwrap_or_default();
    ensure_eq!(tags, BTreeSet::from(["a".to_owned(), "b".to_owned(), "os=linux".to_owned()]), "tags");
    ensure_eq!(doc["tags"].as_array().map(Vec::len), Some(3), "duplicates collapse");
    Ok(())
}

/// A create body that must be refused with `status` and `code`, creating nothing.
async fn refused_create(c: &Ctx, body: Value, status: u16, code: &str) -> CaseResult {
    let name = c.unique_name("refused");
    let mut body = body;
    body["name"] = json!(name);
    let r = c.owner(Request::new("POST", "/v2/images").json(&body)).await?;
    if r.status == 201
        && let Some(id) = r.json().ok().and_then(|d| d["id"].as_str().map(str::to_owned))
    {
        let _ = c.owner(Request::new("DELETE", format!("/v2/images/{}", seg(&id)))).await;
    }
    r.expect_error(status, code)?;
    let listed =
        c.owner(Request::new("GET", format!("/v2/images?name={}", seg(&name)))).await?.expect_json(200)?;
    ensure_eq!(listed["images"].as_array().map(Vec::len), Some(0), "images named {name} after the refusal");
    Ok(())
}

async fn body_tags_two_values(c: &Ctx) -> CaseResult {
    refused_create(c, json!({"tags": ["os=linux", "os=windows"]}), 400, "IMG.0115").await
}

async fn body_tag_bad_value(c: &Ctx) -> CaseResult {
    refused_create(c, json!({"tags": ["bad=a/b"]}), 400, "IMG.0115").await
}

async fn body_tag_whitespace(c: &Ctx) -> CaseResult {
    refused_create(c, json!({"tags": ["a b "]}), 400, "IMG.0115").await
}

async fn body_tags_quota_n(c: &Ctx) -> CaseResult {
    let tags: Vec<String> = (0..c.target.limits.tags_per_image).map(|i| format!("t{i}")).collect();
    let doc = create(c, json!({"tags": tags})).await?;
    ensure_eq!(doc["tags"].as_array().map(Vec::len), Some(tags.len()), "tags");
    Ok(())
}

async fn body_tags_quota_n1(c: &Ctx) -> CaseResult {
    let tags: Vec<String> = (0..=c.target.limits.tags_per_image).map(|i| format!("t{i}")).collect();
    refused_create(c, json!({"tags": tags}), 413, "IMG.0116").await
}

async fn empty_body(c: &Ctx) -> CaseResult {
    c.owner(Request::new("POST", "/v2/images")).await?.expect_error(400, "IMG.0007")?;
    Ok(())
}

async fn invalid_fields(c: &Ctx) -> CaseResult {
    for body in [
        json!({"visibility": "everyone"}),
        json!({"min_disk": -1}),
        json!({"min_ram": "big"}),
        json!({"tags": "a"}),
        json!({"protected": "maybe"}),
    ] {
        refused_create(c, body.clone(), 400, "IMG.0001").await.map_err(|f| f.context(&body))?;
    }
    let long = json!({"name": "n".repeat(256)});
    let r = c.owner(Request::new("POST", "/v2/images").json(&long)).await?;
    r.expect_error(400, "IMG.0001").map_err(|f| f.context("a name of 256 characters"))?;
    Ok(())
}

async fn choice_fields(c: &Ctx) -> CaseResult {
    for body in [
        json!({"disk_format": "floppy"}),
        json!({"container_format": "zip"}),
        json!({"status": "active"}),
        json!({"owner": "someone"}),
        json!({"id": "not-a-uuid"}),
        json!({"extra": 5}),
    ] {
        refused_create(c, body.clone(), 400, "IMG.0001").await.map_err(|f| f.context(&body))?;
    }
    Ok(())
}

async fn chosen_id(c: &Ctx) -> CaseResult {
    let id = uuid::Uuid::new_v4().to_string();
    let made = c.image(Who::Owner, json!({"id": id})).await?;
    ensure_eq!(made, id, "the chosen id");
    let again =
        json!({"id": id, "name": c.unique_name("again"), crate::target::RUN_PROPERTY: c.target.run_id});
    c.owner(Request::new("POST", "/v2/images").json(&again)).await?.expect_error(409, "IMG.0001")?;
    Ok(())
}

async fn show_public(c: &Ctx) -> CaseResult {
    let id = c.image(Who::Owner, json!({"visibility": "public"})).await?;
    show(c, Who::Other, &id).await?;
    Ok(())
}

async fn show_private(c: &Ctx) -> CaseResult {
    let id = c.image(Who::Owner, json!({})).await?;
    let r = c.send(Who::Other, Request::new("GET", format!("/v2/images/{}", seg(&id)))).await?;
    r.expect_error(404, "IMG.0144")?;
    Ok(())
}

async fn show_shared_community(c: &Ctx) -> CaseResult {
    for visibility in ["shared", "community"] {
        let id = c.image(Who::Owner, json!({"visibility": visibility})).await?;
        let r = c.send(Who::Other, Request::new("GET", format!("/v2/images/{}", seg(&id)))).await?;
        r.expect_error(404, "IMG.0144").map_err(|f| f.context(visibility))?;
        let r = c.send(Who::Other, Request::new("PUT", format!("/v2/images/{}/tags/x", seg(&id)))).await?;
        r.expect_error(404, "IMG.0144").map_err(|f| f.context(format!("tagging a {visibility} image")))?;
    }
    Ok(())
}

async fn show_malformed(c: &Ctx) -> CaseResult {
    c.owner(Request::new("GET", "/v2/images/abcd")).await?.expect_error(404, "IMG.0144")?;
    Ok(())
}

async fn show_sorted(c: &Ctx) -> CaseResult {
    let doc = create(c, json!({"tags": ["b", "B", "a=1", "é", "z", "Z-9", "a-b"]})).await?;
    let tags: Vec<String> = serde_json::from_value(doc["tags"].clone()).unwrap_or_default();
    let mut sorted = tags.clone();
    sorted.sort();
    ensure_eq!(tags, sorted, "the tags in the order given");
    Ok(())
}

/// Names of the images listed by `query` (with this case's scope tag), sorted.
async fn listed(c: &Ctx, who: Who, query: &str) -> Result<Vec<String>, Failure> {
    let r = c.send(who, Request::new("GET", format!("/v2/images?{query}"))).await?;
    let body = r.expect_json(200)?;
    let prefix = c.target.name_prefix();
    let mut names: Vec<String> = body["images"]
        .as_array()
        .ok_or_else(|| r.fail("no images list"))?
        .iter()
        .map(|i| i["name"].as_str().unwrap_or_default().trim_start_matches(prefix.as_str()).to_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// A tag no other case uses, for scoping lists on a shared endpoint.
fn scope(c: &Ctx) -> String {
    c.unique_name("scope")
}

async fn tag_fixture(c: &Ctx, scope: &str) -> CaseResult {
    c.image(Who::Owner, json!({"name": "fa", "tags": [scope, "x", "y"]})).await?;
    c.image(Who::Owner, json!({"name": "fb", "tags": [scope, "x"]})).await?;
    c.image(Who::Owner, json!({"name": "fc", "tags": [scope, "y", "X"]})).await?;
    Ok(())
}

async fn list_tag_exact(c: &Ctx) -> CaseResult {
    let s = scope(c);
    tag_fixture(c, &s).await?;
    let t = seg(&s);
    ensure_eq!(listed(c, Who::Owner, &format!("tag={t}&tag=x")).await?, vec!["fa", "fb"], "tag=x");
    ensure_eq!(listed(c, Who::Owner, &format!("tag={t}&tag=X")).await?, vec!["fc"], "tag=X");
    Ok(())
}

async fn list_tag_and(c: &Ctx) -> CaseResult {
    let s = scope(c);
    tag_fixture(c, &s).await?;
    let t = seg(&s);
    ensure_eq!(listed(c, Who::Owner, &format!("tag={t}&tag=x&tag=y")).await?, vec!["fa"], "tag=x&tag=y");
    ensure!(listed(c, Who::Owner, &format!("tag={t}&tag=x&tag=nope")).await?.is_empty(), "tag=x&tag=nope");
    Ok(())
}

async fn list_tag_stripped(c: &Ctx) -> CaseResult {
    let s = scope(c);
    tag_fixture(c, &s).await?;
    ensure_eq!(
        listed(c, Who::Owner, &format!("tag={}&tag=%20x%20", seg(&s))).await?,
        vec!["fa", "fb"],
        "tag=%20x%20"
    );
    Ok(())
}

async fn list_owned_and_public(c: &Ctx) -> CaseResult {
    let s = scope(c);
    c.image(Who::Owner, json!({"name": "mine", "tags": [&s]})).await?;
    c.image(Who::Other, json!({"name": "public", "visibility": "public", "tags": [&s]})).await?;
    c.image(Who::Other, json!({"name": "theirs", "tags": [&s]})).await?;
    ensure_eq!(listed(c, Who::Owner, &format!("tag={}", seg(&s))).await?, vec!["mine", "public"], "listed");
    Ok(())
}

async fn list_filters(c: &Ctx) -> CaseResult {
    let s = scope(c);
    c.image(Who::Owner, json!({"name": "fa", "tags": [&s]})).await?;
    c.image(Who::Owner, json!({"name": "fb", "visibility": "public", "tags": [&s]})).await?;
    let t = seg(&s);
    let fa = seg(&format!("{}fa", c.target.name_prefix()));
    ensure_eq!(listed(c, Who::Owner, &format!("tag={t}&name={fa}")).await?, vec!["fa"], "name=");
    ensure_eq!(
        listed(c, Who::Owner, &format!("tag={t}&visibility=public")).await?,
        vec!["fb"],
        "visibility=public"
    );
    ensure_eq!(
        listed(c, Who::Owner, &format!("tag={t}&visibility=private")).await?,
        vec!["fa"],
        "visibility=private"
    );
    ensure_eq!(
        listed(c, Who::Owner, &format!("tag={t}&status=queued")).await?,
        vec!["fa", "fb"],
        "status=queued"
    );
    ensure!(listed(c, Who::Owner, &format!("tag={t}&status=active")).await?.is_empty(), "status=active");
    Ok(())
}

async fn list_invalid_choice(c: &Ctx) -> CaseResult {
    for bad in ["sort_key=tags", "marker=nope"] {
        let r = c.owner(Request::new("GET", format!("/v2/images?{bad}"))).await?;
        r.expect_error(400, "IMG.0001").map_err(|f| f.context(bad))?;
    }
    Ok(())
}

async fn location(c: &Ctx) -> CaseResult {
    let body = json!({"name": c.unique_name("located"), crate::target::RUN_PROPERTY: c.target.run_id});
    let r = c.owner(Request::new("POST", "/v2/images").json(&body)).await?;
    let doc = r.expect_json(201)?;
    let id = doc["id"].as_str().unwrap_or_default().to_owned();
    let _ = c.owner(Request::new("DELETE", format!("/v2/images/{}", seg(&id)))).await;
    let location = r.header("location").unwrap_or_default();
    if !location.ends_with(&format!("/v2/images/{id}")) {
        return Err(r.fail(format!("Location {location:?} does not name the image")));
    }
    Ok(())
}

async fn list_hidden(c: &Ctx) -> CaseResult {
    let s = scope(c);
    c.image(Who::Owner, json!({"name": "shown", "tags": [&s]})).await?;
    c.image(Who::Owner, json!({"name": "hidden", "os_hidden": true, "tags": [&s]})).await?;
    let t = seg(&s);
    ensure_eq!(listed(c, Who::Owner, &format!("tag={t}")).await?, vec!["shown"], "by default");
    ensure_eq!(
        listed(c, Who::Owner, &format!("tag={t}&os_hidden=true")).await?,
        vec!["hidden"],
        "os_hidden=true"
    );
    Ok(())
}

async fn list_booleans(c: &Ctx) -> CaseResult {
    let s = scope(c);
    c.image(Who::Owner, json!({"name": "shown", "tags": [&s]})).await?;
    c.image(Who::Owner, json!({"name": "hidden", "os_hidden": true, "tags": [&s]})).await?;
    let t = seg(&s);
    for word in ["true", "True", "TRUE", "1", "yes", "on", "y", "t"] {
        ensure_eq!(
            listed(c, Who::Owner, &format!("tag={t}&os_hidden={word}")).await?,
            vec!["hidden"],
            "os_hidden={word}"
        );
    }
    for word in ["false", "False", "0", "no", "off", "n", "f"] {
        ensure_eq!(
            listed(c, Who::Owner, &format!("tag={t}&os_hidden={word}")).await?,
            vec!["shown"],
            "os_hidden={word}"
        );
    }
    let r = c.owner(Request::new("GET", format!("/v2/images?tag={t}&os_hidden=maybe"))).await?;
    r.expect_error(400, "IMG.0001")?;
    Ok(())
}

async fn list_sorted(c: &Ctx) -> CaseResult {
    let s = scope(c);
    tag_fixture(c, &s).await?;
    let t = seg(&s);
    for (dir, expected) in [("asc", ["fa", "fb", "fc"]), ("desc", ["fc", "fb", "fa"])] {
        let r =
            c.owner(Request::new("GET", format!("/v2/images?tag={t}&sort_key=name&sort_dir={dir}"))).await?;
        let body = r.expect_json(200)?;
        let prefix = c.target.name_prefix();
        let names: Vec<String> = body["images"]
            .as_array()
            .ok_or_else(|| r.fail("no images"))?
            .iter()
            .map(|i| i["name"].as_str().unwrap_or_default().trim_start_matches(prefix.as_str()).to_owned())
            .collect();
        if names != expected {
            return Err(r.fail(format!("sort_dir={dir}: expected {expected:?}, got {names:?}")));
        }
    }
    Ok(())
}

async fn list_client(c: &Ctx) -> CaseResult {
    let s = scope(c);
    tag_fixture(c, &s).await?;
    let client = c.client(Who::Owner)?;
    let prefix = c.target.name_prefix();
    let list = call(
        "glance_list_images",
        client.glance_list_images().tag(vec![s.clone(), "x".into()]).sort_key("name").sort_dir("asc").send(),
    )
    .await?;
    let names: Vec<String> = list
        .images
        .iter()
        .map(|i| i.name.clone().unwrap_or_default().trim_start_matches(prefix.as_str()).to_owned())
        .collect();
    ensure_eq!(names, vec!["fa".to_owned(), "fb".to_owned()], "repeated tag, sorted by name");
    Ok(())
}

async fn list_pages(c: &Ctx) -> CaseResult {
    let s = scope(c);
    tag_fixture(c, &s).await?;
    c.image(Who::Owner, json!({"name": "fd", "tags": [&s]})).await?;
    let mut seen = Vec::new();
    let mut path = format!("/v2/images?tag={}&limit=2&sort_key=name&sort_dir=desc", seg(&s));
    let prefix = c.target.name_prefix();
    for _ in 0..5 {
        let r = c.owner(Request::new("GET", path.clone())).await?;
        let page = r.expect_json(200)?;
        let images = page["images"].as_array().ok_or_else(|| r.fail("no images"))?;
        ensure!(images.len() <= 2, "a page of limit 2 has {} images", images.len());
        seen.extend(
            images
                .iter()
                .map(|i| i["name"].as_str().unwrap_or("").trim_start_matches(prefix.as_str()).to_owned()),
        );
        match page["next"].as_str() {
            Some(next) => path = next.to_owned(),
            None => break,
        }
    }
    ensure_eq!(seen, vec!["fd", "fc", "fb", "fa"], "the images through `next`");
    Ok(())
}

async fn list_invalid(c: &Ctx) -> CaseResult {
    for bad in
        ["sort_dir=up", &format!("marker={}", missing_id()), "limit=x", "limit=-1", "visibility=everyone"]
    {
        c.owner(Request::new("GET", format!("/v2/images?{bad}")))
            .await?
            .expect_error(400, "IMG.0001")
            .map_err(|f| f.context(bad))?;
    }
    Ok(())
}

async fn delete_image(c: &Ctx) -> CaseResult {
    let id = c.image(Who::Owner, json!({})).await?;
    let client = c.client(Who::Owner)?;
    call("glance_delete_image", client.glance_delete_image().image_id(id.as_str()).send()).await?;
    c.owner(Request::new("GET", format!("/v2/images/{}", seg(&id)))).await?.expect_error(404, "IMG.0144")?;
    c.owner(Request::new("DELETE", format!("/v2/images/{}", seg(&id))))
        .await?
        .expect_error(404, "IMG.0144")?;
    Ok(())
}

async fn delete_with_body(c: &Ctx) -> CaseResult {
    let id = c.image(Who::Owner, json!({})).await?;
    let r = c
        .owner(Request::new("DELETE", format!("/v2/images/{}", seg(&id))).body(r#"{"delete_backup": false}"#))
        .await?;
    r.expect(204)?;
    c.owner(Request::new("GET", format!("/v2/images/{}", seg(&id)))).await?.expect(404)?;
    Ok(())
}

async fn delete_protected(c: &Ctx) -> CaseResult {
    let id = c.image(Who::Owner, json!({"protected": true, "tags": ["t"]})).await?;
    c.owner(Request::new("DELETE", format!("/v2/images/{}", seg(&id))))
        .await?
        .expect_error(403, "IMG.0026")?;
    ensure_eq!(c.string_tags(&id).await?, vec!["t".to_owned()], "the tags of the protected image");
    Ok(())
}

async fn delete_public_of_other(c: &Ctx) -> CaseResult {
    let id = c.image(Who::Owner, json!({"visibility": "public"})).await?;
    c.send(Who::Other, Request::new("DELETE", format!("/v2/images/{}", seg(&id))))
        .await?
        .expect_error(403, "IMG.0026")?;
    show(c, Who::Owner, &id).await?;
    Ok(())
}

async fn delete_private_of_other(c: &Ctx) -> CaseResult {
    let id = c.image(Who::Owner, json!({})).await?;
    c.send(Who::Other, Request::new("DELETE", format!("/v2/images/{}", seg(&id))))
        .await?
        .expect_error(404, "IMG.0144")?;
    show(c, Who::Owner, &id).await?;
    Ok(())
}

async fn vanishes(c: &Ctx) -> CaseResult {
    let key = format!("gone{}", c.target.run_id);
    let id = c.image(Who::Owner, json!({"name": "gone", "tags": [format!("{key}=prod")]})).await?;
    c.owner(Request::new("DELETE", format!("/v2/images/{}", seg(&id)))).await?.expect(204)?;
    let paths = [(format!("/v2/images/{}", seg(&id)), 404), (format!("/v2/images/{}/tags/x", seg(&id)), 404)];
    for (path, status) in paths {
        let method = if path.ends_with("/x") { "PUT" } else { "GET" };
        if path.ends_with("/x") && !c.target.serves(Family::Native) {
            continue;
        }
        c.owner(Request::new(method, path)).await?.expect_error(status, "IMG.0144")?;
    }
    let name = format!("{}gone", c.target.name_prefix());
    let listed =
        c.owner(Request::new("GET", format!("/v2/images?name={}", seg(&name)))).await?.expect_json(200)?;
    ensure_eq!(listed["images"].as_array().map(Vec::len), Some(0), "listed images named {name}");
    if c.target.serves(Family::ImsV2) {
        let path = format!("/v2/{}/images/{}/tags", seg(&c.p1()), seg(&id));
        c.owner(Request::new("GET", path)).await?.expect_error(404, "IMG.0144")?;
        let all = c
            .owner(Request::new("GET", format!("/v2/{}/images/tags", seg(&c.p1()))))
            .await?
            .expect_json(200)?;
        ensure!(!all.to_string().contains(&key), "op 10 still shows the key {key}: {all}");
        let query = json!({"action": "count", "matches": [{"key": "resource_id", "value": id}]});
        let found = c
            .owner(
                Request::new("POST", format!("/v2/{}/images/resource_instances/action", seg(&c.p1())))
                    .json(&query),
            )
            .await?
            .expect_json(200)?;
        ensure_eq!(found, json!({"total_count": 0}), "op 5 count of the deleted image");
    }
    if c.target.serves(Family::ImsV1) {
        let tags = c
            .owner(Request::new("GET", format!("/v1/cloudimages/tags?id={}", seg(&id))))
            .await?
            .expect_json(200)?;
        ensure_eq!(tags, json!({"tags": []}), "op 4 for the deleted image");
    }
    Ok(())
}

async fn protected_tagging(c: &Ctx) -> CaseResult {
    let id = c.image(Who::Owner, json!({"protected": true})).await?;
    c.owner(Request::new("PUT", format!("/v2/images/{}/tags/u", seg(&id)))).await?.expect(204)?;
    c.owner(Request::new("DELETE", format!("/v2/images/{}/tags/u", seg(&id)))).await?.expect(204)?;
    Ok(())
}

async fn upload_501(c: &Ctx) -> CaseResult {
    let id = c.image(Who::Owner, json!({})).await?;
    let r = c
        .owner(
            Request::new("PUT", format!("/v2/images/{}/file", seg(&id)))
                .header("content-type", "application/octet-stream")
                .body("data"),
        )
        .await?;
    r.expect_envelope(501)?;
    let client = c.client(Who::Owner)?;
    let got = call_error(
        "glance_upload_image_data",
        client.glance_upload_image_data().image_id(id.as_str()).send(),
    )
    .await?;
    ensure_eq!(got.0, 501, "the status through the generated client");
    Ok(())
}

async fn upload_code(c: &Ctx) -> CaseResult {
    let id = c.image(Who::Owner, json!({})).await?;
    c.owner(Request::new("PUT", format!("/v2/images/{}/file", seg(&id))).body("data"))
        .await?
        .expect_error(501, "IMG.0501")?;
    Ok(())
}

async fn upload_checks_image(c: &Ctx) -> CaseResult {
    let private = c.image(Who::Owner, json!({})).await?;
    let public = c.image(Who::Owner, json!({"visibility": "public"})).await?;
    for (what, who, image, status, code) in [
        ("another project's private image", Who::Other, private.clone(), 404, "IMG.0144"),
        ("another project's public image", Who::Other, public, 403, "IMG.0026"),
        ("a missing image", Who::Owner, missing_id(), 404, "IMG.0144"),
    ] {
        let r =
            c.send(who, Request::new("PUT", format!("/v2/images/{}/file", seg(&image))).body("data")).await?;
        r.expect_error(status, code).map_err(|f| f.context(what))?;
    }
    Ok(())
}

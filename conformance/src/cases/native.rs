//! Ops 1 and 2, the Glance native tag operations: `PUT` / `DELETE /v2/images/{image_id}/tags/{tag}`.

use std::collections::BTreeSet;

use crate::case::{Case, Ctx, Need, pairs, seg};
use crate::cases::{call, fill, native_path, put_native};
use crate::http::Request;
use crate::outcome::CaseResult;
use crate::target::Who;
use crate::{ensure, ensure_eq};
use serde_json::json;

pub(crate) fn cases() -> Vec<Case> {
    vec![
        case!(
            contract,
            "native.put.adds_a_key_only_tag",
            Native,
            adds_a_key_only_tag,
            "op 1 upserts (tag, \"\") and answers 204",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.put.existing_tag_is_a_no_op_204",
            Native,
            existing_tag_is_a_no_op,
            "the same key and value again is a no-op 204",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.put.empties_the_value_of_an_existing_key",
            Native,
            empties_the_value,
            "op 1 on a key that has a value sets the value to \"\"",
            Need::Registry
        ),
        case!(
            contract,
            "native.write.bumps_updated_at",
            Native,
            bumps_updated_at,
            "every successful write (a re-add too) bumps updated_at",
            Need::Registry
        ),
        case!(
            contract,
            "native.delete.removes_the_tag",
            Native,
            delete_removes,
            "op 2 removes the tag and answers 204",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.delete.missing_tag_is_404",
            Native,
            delete_missing,
            "op 2 on a tag the image does not have is 404 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.delete.key_value_deletes_only_that_value",
            Native,
            delete_key_value,
            "op 2 `k=v` deletes key k only when its value is v, else 404",
            Need::Registry
        ),
        case!(
            contract,
            "native.delete.bare_key_deletes_any_value",
            Native,
            delete_bare_key,
            "op 2 `k` deletes key k whatever its value",
            Need::Registry
        ),
        case!(
            contract,
            "native.delete.lookup_accepts_any_characters_up_to_the_limit",
            Native,
            delete_lookup_n,
            "op 2 reads keys of up to 255 characters with no character-set check: a missing one is 404",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.delete.lookup_over_the_limit_is_400",
            Native,
            delete_lookup_n1,
            "op 2 with a key over 255 characters is 400 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.path.utf8_is_decoded",
            Native,
            path_utf8,
            "path segments are percent-decoded UTF-8 (spaces, accents, CJK)",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.path.encoded_slash_is_part_of_the_tag",
            Native,
            path_slash,
            "%2F in a segment is part of the tag",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.path.plus_stays_plus",
            Native,
            path_plus,
            "+ in a path segment stays +",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.path.decoded_exactly_once",
            Native,
            path_once,
            "%252F decodes once, to %2F",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.path.the_generated_client_encodes_any_tag",
            Native,
            client_encodes,
            "tags with spaces, `/`, `+`, `%`, `?`, `#` and CJK go through the generated client and back",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.path.invalid_utf8_is_400",
            Native,
            path_invalid_utf8,
            "invalid UTF-8 after decoding is 400 IMG.0001 (never 5xx) and changes nothing",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.put.tag_at_the_length_limit_is_accepted",
            Native,
            put_length_n,
            "a native tag of 255 characters is accepted",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.put.tag_over_the_length_limit_is_400",
            Native,
            put_length_n1,
            "a native tag of 256 characters is 400 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.put.length_counts_characters_not_bytes",
            Native,
            put_length_chars,
            "255 two-byte characters are 255 characters: accepted",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.put.equals_sign_is_400",
            Native,
            put_equals,
            "a native tag has no `=`: 400 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.put.leading_whitespace_is_400",
            Native,
            put_leading_space,
            "a native tag has no leading whitespace: 400 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.put.trailing_whitespace_is_400",
            Native,
            put_trailing_space,
            "a native tag has no trailing whitespace: 400 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.put.control_character_is_400",
            Native,
            put_control,
            "a native tag has no control characters: 400 IMG.0115",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.put.at_the_quota_is_accepted",
            Native,
            put_quota_n,
            "the quota-th tag is accepted",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.put.over_the_quota_is_413",
            Native,
            put_quota_n1,
            "one tag over the quota is 413 IMG.0116 and changes nothing",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.put.re_adding_at_the_quota_is_204",
            Native,
            put_quota_readd,
            "re-adding an existing tag never counts against the quota",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.methods.others_are_405_with_allow",
            Native,
            other_methods,
            "other methods on a tag are 405 with an Allow header naming PUT and DELETE",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.project.comes_from_x_project_id",
            Native,
            project_from_header,
            "ops 1 and 2 act in the X-Project-Id project",
            Need::Registry,
            Need::SecondProject
        ),
        case!(
            contract,
            "native.put.empty_body_with_a_content_type_is_accepted",
            Native,
            put_empty_body_content_type,
            "Content-Length: 0 with a Content-Type is fine (clients send one)",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.put.body_is_400",
            Native,
            put_with_body,
            "op 1 with a body is 400 IMG.0001 \"A body is not expected\"",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.delete.body_is_400",
            Native,
            delete_with_body,
            "op 2 with a body is 400 IMG.0001 \"A body is not expected\"",
            Need::Images(1)
        ),
        case!(
            contract,
            "native.wire.chunked_body_is_400",
            Native,
            put_with_chunked_body,
            "op 1 with a chunked body is 400 IMG.0001",
            Need::Images(1),
            Need::PlainHttp
        ),
    ]
}

async fn adds_a_key_only_tag(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let client = c.client(Who::Owner)?;
    call("glance_create_tag", client.glance_create_tag().image_id(image.as_str()).tag("beta").send()).await?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("beta", "")]), "the tags after op 1");
    Ok(())
}

async fn existing_tag_is_a_no_op(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    put_native(c, &image, "same").await?;
    c.owner(Request::new("PUT", native_path(&image, "same"))).await?.expect(204)?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("same", "")]), "still one tag");
    Ok(())
}

async fn empties_the_value(c: &Ctx) -> CaseResult {
    let image = c.image(Who::Owner, json!({"tags": ["env=prod"]})).await?;
    c.owner(Request::new("PUT", native_path(&image, "env"))).await?.expect(204)?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("env", "")]), "op 1 on an existing key");
    Ok(())
}

async fn updated_at(c: &Ctx, image: &str) -> Result<String, crate::outcome::Failure> {
    let r = c.owner(Request::new("GET", format!("/v2/images/{}", seg(image)))).await?;
    let doc = r.expect_json(200)?;
    doc["updated_at"].as_str().map(str::to_owned).ok_or_else(|| r.fail("no updated_at"))
}

async fn bumps_updated_at(c: &Ctx) -> CaseResult {
    let (added, readded, deleted) = (c.own_image().await?, c.own_image().await?, c.own_image().await?);
    put_native(c, &readded, "same").await?;
    put_native(c, &deleted, "gone").await?;
    let mut before = Vec::new();
    for image in [&added, &readded, &deleted] {
        before.push(updated_at(c, image).await?);
    }
    // Timestamps have one-second resolution.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    c.owner(Request::new("PUT", native_path(&added, "new"))).await?.expect(204)?;
    c.owner(Request::new("PUT", native_path(&readded, "same"))).await?.expect(204)?;
    c.owner(Request::new("DELETE", native_path(&deleted, "gone"))).await?.expect(204)?;
    for ((image, what), before) in
        [(&added, "a new tag"), (&readded, "a re-add"), (&deleted, "a delete")].iter().zip(before)
    {
        let after = updated_at(c, image).await?;
        ensure!(after > before, "{what}: updated_at stayed {before} (now {after})");
    }
    Ok(())
}

async fn delete_removes(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    put_native(c, &image, "beta").await?;
    let client = c.client(Who::Owner)?;
    call("glance_delete_tag", client.glance_delete_tag().image_id(image.as_str()).tag("beta").send()).await?;
    ensure!(c.tags(&image).await?.is_empty(), "the tag is still there");
    Ok(())
}

async fn delete_missing(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    put_native(c, &image, "other").await?;
    c.owner(Request::new("DELETE", native_path(&image, "absent"))).await?.expect_error(404, "IMG.0115")?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("other", "")]), "the other tag");
    Ok(())
}

async fn delete_key_value(c: &Ctx) -> CaseResult {
    let image = c.image(Who::Owner, json!({"tags": ["env=prod"]})).await?;
    c.owner(Request::new("DELETE", native_path(&image, "env%3Ddev"))).await?.expect_error(404, "IMG.0115")?;
    ensure_eq!(
        c.tags(&image).await?,
        pairs(&[("env", "prod")]),
        "a value that does not match deletes nothing"
    );
    c.owner(Request::new("DELETE", native_path(&image, "env%3Dprod"))).await?.expect(204)?;
    ensure!(c.tags(&image).await?.is_empty(), "k=v with the right value deletes");
    Ok(())
}

async fn delete_bare_key(c: &Ctx) -> CaseResult {
    let image = c.image(Who::Owner, json!({"tags": ["os=linux"]})).await?;
    c.owner(Request::new("DELETE", native_path(&image, "os"))).await?.expect(204)?;
    ensure!(c.tags(&image).await?.is_empty(), "a bare key deletes any value");
    Ok(())
}

async fn delete_lookup_n(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let n = c.target.limits.lookup_max;
    for tag in ["k".repeat(n), " spaced = odd ".to_owned(), "ctl\u{7}".to_owned()] {
        c.owner(Request::new("DELETE", native_path(&image, &seg(&tag))))
            .await?
            .expect_error(404, "IMG.0115")?;
    }
    Ok(())
}

async fn delete_lookup_n1(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let tag = "k".repeat(c.target.limits.lookup_max + 1);
    c.owner(Request::new("DELETE", native_path(&image, &tag))).await?.expect_error(400, "IMG.0115")?;
    Ok(())
}

/// Adds each raw segment and checks the tag it became.
async fn segments_become(c: &Ctx, list: &[(&str, &str)]) -> CaseResult {
    let image = c.own_image().await?;
    for (raw, tag) in list {
        c.owner(Request::new("PUT", native_path(&image, raw))).await?.expect(204)?;
        let tags = c.tags(&image).await?;
        ensure!(
            tags.contains(&(tag.to_string(), String::new())),
            "{raw} should be the tag {tag:?}: {tags:?}"
        );
    }
    // And each can be deleted by the same segment.
    for (raw, _) in list {
        c.owner(Request::new("DELETE", native_path(&image, raw))).await?.expect(204)?;
    }
    ensure!(c.tags(&image).await?.is_empty(), "every tag was deleted by its segment");
    Ok(())
}

async fn path_utf8(c: &Ctx) -> CaseResult {
    segments_become(c, &[("a%20b~d_%C3%A9", "a b~d_é"), ("%E9%95%9C%E5%83%8F", "镜像"), ("100%25", "100%")])
        .await
}

async fn path_slash(c: &Ctx) -> CaseResult {
    segments_become(c, &[("slash%2Finside", "slash/inside")]).await
}

async fn path_plus(c: &Ctx) -> CaseResult {
    segments_become(c, &[("plus+sign", "plus+sign")]).await
}

async fn path_once(c: &Ctx) -> CaseResult {
    segments_become(c, &[("twice%252F", "twice%2F")]).await
}

async fn client_encodes(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let client = c.client(Who::Owner)?;
    let tags = ["a b/c~d_é", "x+y", "镜像标签", "100%", "a%2Fb", "q?uery#frag"];
    for tag in tags {
        call("glance_create_tag", client.glance_create_tag().image_id(image.as_str()).tag(tag).send())
            .await
            .map_err(|f| f.context(tag))?;
    }
    let want: BTreeSet<(String, String)> = tags.iter().map(|t| (t.to_string(), String::new())).collect();
    ensure_eq!(c.tags(&image).await?, want, "the tags");
    for tag in tags {
        call("glance_delete_tag", client.glance_delete_tag().image_id(image.as_str()).tag(tag).send())
            .await
            .map_err(|f| f.context(tag))?;
    }
    ensure!(c.tags(&image).await?.is_empty(), "every tag was deleted by name");
    Ok(())
}

async fn path_invalid_utf8(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    put_native(c, &image, "keep").await?;
    for method in ["PUT", "DELETE"] {
        c.owner(Request::new(method, native_path(&image, "bad%FF%FE")))
            .await?
            .expect_error(400, "IMG.0001")?;
    }
    ensure_eq!(c.tags(&image).await?, pairs(&[("keep", "")]), "the tags");
    Ok(())
}

async fn put_length_n(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let tag = "t".repeat(c.target.limits.native_tag_max);
    c.owner(Request::new("PUT", native_path(&image, &tag))).await?.expect(204)?;
    ensure_eq!(c.tags(&image).await?, BTreeSet::from([(tag, String::new())]), "the tags");
    Ok(())
}

async fn put_length_n1(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let tag = "t".repeat(c.target.limits.native_tag_max + 1);
    c.owner(Request::new("PUT", native_path(&image, &tag))).await?.expect_error(400, "IMG.0115")?;
    ensure!(c.tags(&image).await?.is_empty(), "the refused tag was stored");
    Ok(())
}

async fn put_length_chars(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let tag = "é".repeat(c.target.limits.native_tag_max);
    c.owner(Request::new("PUT", native_path(&image, &seg(&tag)))).await?.expect(204)?;
    ensure_eq!(c.tags(&image).await?, BTreeSet::from([(tag, String::new())]), "the tags");
    Ok(())
}

async fn refused_tag(c: &Ctx, raw: &str) -> CaseResult {
    let image = c.own_image().await?;
    c.owner(Request::new("PUT", native_path(&image, raw))).await?.expect_error(400, "IMG.0115")?;
    ensure!(c.tags(&image).await?.is_empty(), "the refused tag was stored");
    Ok(())
}

async fn put_equals(c: &Ctx) -> CaseResult {
    refused_tag(c, "a%3Db").await
}

async fn put_leading_space(c: &Ctx) -> CaseResult {
    refused_tag(c, "%20lead").await
}

async fn put_trailing_space(c: &Ctx) -> CaseResult {
    refused_tag(c, "trail%20").await
}

async fn put_control(c: &Ctx) -> CaseResult {
    refused_tag(c, "ctl%07").await
}

async fn put_quota_n(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let quota = c.target.limits.tags_per_image;
    fill(c, &image, "t", quota - 1).await?;
    c.owner(Request::new("PUT", native_path(&image, "last"))).await?.expect(204)?;
    ensure_eq!(c.tags(&image).await?.len(), quota, "tags on the image");
    Ok(())
}

async fn put_quota_n1(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let quota = c.target.limits.tags_per_image;
    fill(c, &image, "t", quota).await?;
    let r = c.owner(Request::new("PUT", native_path(&image, "one-too-many"))).await?;
    r.expect_error(413, "IMG.0116")?;
    ensure_eq!(c.tags(&image).await?.len(), quota, "tags on the image");
    Ok(())
}

async fn put_quota_readd(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let quota = c.target.limits.tags_per_image;
    fill(c, &image, "t", quota).await?;
    c.owner(Request::new("PUT", native_path(&image, "t0"))).await?.expect(204)?;
    ensure_eq!(c.tags(&image).await?.len(), quota, "tags on the image");
    Ok(())
}

async fn other_methods(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    for method in ["GET", "POST", "PATCH"] {
        let r = c.owner(Request::new(method, native_path(&image, "x"))).await?;
        r.expect_envelope(405)?;
        let allow: BTreeSet<String> = r
            .header("allow")
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_ascii_uppercase())
            .filter(|m| !m.is_empty())
            .collect();
        ensure!(
            allow.contains("PUT") && allow.contains("DELETE") && !allow.contains(method),
            "{method}: Allow should name PUT and DELETE, got {allow:?}"
        );
    }
    Ok(())
}

async fn project_from_header(c: &Ctx) -> CaseResult {
    let image = c.image(Who::OwnerElsewhere, json!({})).await?;
    let r = c.owner(Request::new("PUT", native_path(&image, "x"))).await?;
    r.expect_error(404, "IMG.0144")
        .map_err(|f| f.context("in the default project the image is not visible"))?;
    c.send(Who::OwnerElsewhere, Request::new("PUT", native_path(&image, "x"))).await?.expect(204)?;
    c.send(Who::OwnerElsewhere, Request::new("DELETE", native_path(&image, "x"))).await?.expect(204)?;
    Ok(())
}

async fn put_empty_body_content_type(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    for (i, content_type) in ["application/json", "application/octet-stream"].into_iter().enumerate() {
        let tag = format!("typed{i}");
        let r = c
            .owner(
                Request::new("PUT", native_path(&image, &tag)).header("content-type", content_type).body(""),
            )
            .await?;
        r.expect(204)?;
    }
    ensure_eq!(c.tags(&image).await?.len(), 2, "tags on the image");
    Ok(())
}

async fn put_with_body(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let r = c.owner(Request::new("PUT", native_path(&image, "x")).body("{\"a\": 1}")).await?;
    r.expect_error(400, "IMG.0001")?;
    ensure!(c.tags(&image).await?.is_empty(), "the request with a body added the tag");
    Ok(())
}

async fn delete_with_body(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    put_native(c, &image, "x").await?;
    let r = c.owner(Request::new("DELETE", native_path(&image, "x")).body("{}")).await?;
    r.expect_error(400, "IMG.0001")?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("x", "")]), "the request with a body deleted the tag");
    Ok(())
}

async fn put_with_chunked_body(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let path = native_path(&image, "x");
    let request =
        Request::new("PUT", path.clone()).header("transfer-encoding", "chunked").body("2\r\nab\r\n0\r\n\r\n");
    let raw = crate::cases::errors::raw_request(c, Who::Owner, &request, b"ab").await?;
    let r = c.http.send_raw(&raw).await?;
    let r = r.ok_or_else(|| crate::outcome::Failure::new("the connection closed without an answer"))?;
    r.expect_error(400, "IMG.0001")?;
    ensure!(c.tags(&image).await?.is_empty(), "the request with a body added the tag");
    Ok(())
}

//! Contract section 2: one tag model seen through three views, written through every path: the quota counts
//! them all, and every write bumps `updated_at`.

use serde_json::json;

use crate::case::{Case, Ctx, Need, pairs, seg};
use crate::cases::{add_v2, native_path, put_native, v2_tags_path};
use crate::http::Request;
use crate::outcome::{CaseResult, Failure};
use crate::target::{Family, Who};
use crate::{ensure, ensure_eq};

pub(crate) fn cases() -> Vec<Case> {
    vec![
        case!(
            contract,
            "tags.views.string_view_is_key_or_key_equals_value",
            ImsV2,
            string_view,
            "(k, \"\") is \"k\" and (k, v) is \"k=v\" in the Glance tags and op 4",
            Need::Images(1),
            Need::Serves(Family::Registry),
            Need::Serves(Family::ImsV1)
        ),
        case!(
            contract,
            "tags.views.ims_view_of_native_tags",
            ImsV2,
            ims_view,
            "op 1's tag is (tag, \"\") in op 9",
            Need::Images(1),
            Need::Serves(Family::Native)
        ),
        case!(
            contract,
            "tags.model.keys_and_values_are_case_sensitive",
            ImsV2,
            case_sensitive,
            "Env and env are two keys; values keep their case",
            Need::Images(1)
        ),
        case!(
            contract,
            "tags.quota.counts_tags_from_every_path",
            ImsV2,
            quota_every_path,
            "the quota counts tags from every path, and every path refuses the tag over it",
            Need::Registry,
            Need::Serves(Family::Native),
            Need::Serves(Family::ImsV1)
        ),
        case!(
            contract,
            "tags.quota.re_adding_never_counts",
            ImsV2,
            quota_readd,
            "at the quota, re-adding existing keys through every path is accepted",
            Need::Images(1),
            Need::Serves(Family::ImsV1)
        ),
        case!(
            contract,
            "tags.quota.holds_under_concurrent_adds",
            ImsV2,
            quota_concurrent,
            "concurrent adds never take an image over the quota",
            Need::Images(1)
        ),
        case!(
            contract,
            "tags.write.ims_writes_bump_updated_at",
            ImsV2,
            ims_writes_bump,
            "ops 3, 6 (create and delete), 7 and 8 bump updated_at, even when nothing changes",
            Need::Registry,
            Need::Serves(Family::ImsV1)
        ),
    ]
}

async fn string_view(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    add_v2(c, &image, "env", "prod").await?.expect(204)?;
    add_v2(c, &image, "solo", "").await?.expect(204)?;
    let mut tags = c.string_tags(&image).await?;
    tags.sort();
    ensure_eq!(tags, vec!["env=prod".to_owned(), "solo".to_owned()], "the Glance tags");
    let listed = c
        .owner(Request::new("GET", format!("/v1/cloudimages/tags?id={}", seg(&image))))
        .await?
        .expect_json(200)?;
    ensure_eq!(listed, json!({"tags": ["env=prod", "solo"]}), "op 4");
    Ok(())
}

async fn ims_view(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    put_native(c, &image, "native tag").await?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("native tag", "")]), "op 9");
    Ok(())
}

async fn case_sensitive(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    add_v2(c, &image, "Env", "Prod").await?.expect(204)?;
    add_v2(c, &image, "env", "prod").await?.expect(204)?;
    ensure_eq!(c.tags(&image).await?, pairs(&[("Env", "Prod"), ("env", "prod")]), "tags");
    Ok(())
}

async fn batch(c: &Ctx, image: &str, body: serde_json::Value) -> Result<crate::http::Response, Failure> {
    c.owner(Request::new("POST", format!("{}/action", v2_tags_path(c, Who::Owner, image))).json(&body)).await
}

async fn quota_every_path(c: &Ctx) -> CaseResult {
    let quota = c.target.limits.tags_per_image;
    ensure!(quota >= 5, "this case needs a quota of at least 5, not {quota}");
    let image = c.image(Who::Owner, json!({"tags": ["c0"]})).await?;
    put_native(c, &image, "n0").await?;
    let v1 = json!({"image_id": image, "tag": "v0.x"});
    c.owner(Request::new("PUT", "/v1/cloudimages/tags").json(&v1)).await?.expect(204)?;
    add_v2(c, &image, "a0", "").await?.expect(204)?;
    let rest: Vec<serde_json::Value> =
        (0..quota - 4).map(|i| json!({"key": format!("b{i}"), "value": ""})).collect();
    batch(c, &image, json!({"action": "create", "tags": rest})).await?.expect(204)?;
    ensure_eq!(c.tags(&image).await?.len(), quota, "tags from five paths");
    add_v2(c, &image, "over", "").await?.expect_error(400, "IMG.0116").map_err(|f| f.context("op 7"))?;
    let v1 = json!({"image_id": image, "tag": "over"});
    c.owner(Request::new("PUT", "/v1/cloudimages/tags").json(&v1))
        .await?
        .expect_error(400, "IMG.0116")
        .map_err(|f| f.context("op 3"))?;
    batch(c, &image, json!({"action": "create", "tags": [{"key": "over", "value": ""}]}))
        .await?
        .expect_error(400, "IMG.0116")
        .map_err(|f| f.context("op 6"))?;
    c.owner(Request::new("PUT", native_path(&image, "over")))
        .await?
        .expect_error(413, "IMG.0116")
        .map_err(|f| f.context("op 1"))?;
    ensure_eq!(c.tags(&image).await?.len(), quota, "tags after the refusals");
    Ok(())
}

async fn quota_readd(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let quota = c.target.limits.tags_per_image;
    crate::cases::fill(c, &image, "t", quota).await?;
    add_v2(c, &image, "t0", "changed").await?.expect(204).map_err(|f| f.context("op 7"))?;
    let v1 = json!({"image_id": image, "tag": "t1.x"});
    c.owner(Request::new("PUT", "/v1/cloudimages/tags").json(&v1))
        .await?
        .expect(204)
        .map_err(|f| f.context("op 3"))?;
    let mixed =
        json!({"action": "create", "tags": [{"key": "t2", "value": "x"}, {"key": "t3", "value": "y"}]});
    batch(c, &image, mixed).await?.expect(204).map_err(|f| f.context("op 6"))?;
    ensure_eq!(c.tags(&image).await?.len(), quota, "tags");
    Ok(())
}

async fn quota_concurrent(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let quota = c.target.limits.tags_per_image;
    let attempts = (0..3 * quota).map(|i| {
        let image = image.clone();
        async move { add_v2(c, &image, &format!("k{i}"), "v").await }
    });
    let results = futures::future::join_all(attempts).await;
    let mut accepted = 0;
    for result in results {
        let r = result?;
        match r.status {
            204 => accepted += 1,
            _ => {
                r.expect_error(400, "IMG.0116")?;
            }
        }
    }
    ensure_eq!(accepted, quota, "accepted adds");
    ensure_eq!(c.tags(&image).await?.len(), quota, "tags");
    Ok(())
}

async fn updated_at(c: &Ctx, image: &str) -> Result<String, Failure> {
    let r = c.owner(Request::new("GET", format!("/v2/images/{}", seg(image)))).await?;
    let doc = r.expect_json(200)?;
    doc["updated_at"].as_str().map(str::to_owned).ok_or_else(|| r.fail("no updated_at"))
}

async fn ims_writes_bump(c: &Ctx) -> CaseResult {
    let labels = ["op 3", "op 6 create", "op 6 delete", "op 7", "op 7 same value", "op 8"];
    let mut images = Vec::new();
    for _ in labels {
        let image = c.image(Who::Owner, json!({"tags": ["k=v"]})).await?;
        images.push(image);
    }
    let mut before = Vec::new();
    for image in &images {
        before.push(updated_at(c, image).await?);
    }
    // Timestamps have one-second resolution.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let v1 = json!({"image_id": images[0], "tag": "n.x"});
    c.owner(Request::new("PUT", "/v1/cloudimages/tags").json(&v1)).await?.expect(204)?;
    batch(c, &images[1], json!({"action": "create", "tags": [{"key": "n", "value": ""}]}))
        .await?
        .expect(204)?;
    batch(c, &images[2], json!({"action": "delete", "tags": [{"key": "k"}]})).await?.expect(204)?;
    add_v2(c, &images[3], "n", "").await?.expect(204)?;
    add_v2(c, &images[4], "k", "v").await?.expect(204)?;
    c.owner(Request::new("DELETE", format!("{}/k", v2_tags_path(c, Who::Owner, &images[5]))))
        .await?
        .expect(204)?;
    for ((label, image), before) in labels.iter().zip(&images).zip(before) {
        let after = updated_at(c, image).await?;
        ensure!(after > before, "{label}: updated_at stayed {before} (now {after})");
    }
    Ok(())
}

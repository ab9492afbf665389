//! Op 5, `POST /v2/{project_id}/images/resource_instances/action`: querying the project's images by tag.
//!
//! Every query of a case is narrowed to that case's images with a `matches` entry on a name part no other
//! image has, so that the cases hold on an endpoint shared with other data.

use ims_tags_client::types;
use serde_json::{Value, json};

use crate::case::{Case, Ctx, Need, seg};
use crate::cases::call;
use crate::http::{Request, Response};
use crate::outcome::{CaseResult, Failure};
use crate::target::Who;
use crate::{ensure, ensure_eq};

pub(crate) fn cases() -> Vec<Case> {
    vec![
        case!(
            contract,
            "ims.v2.query.tags_needs_every_entry",
            ImsV2,
            tags_all,
            "`tags`: the image has every listed key, each with one of its values",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v2.query.empty_values_match_any_value",
            ImsV2,
            empty_values,
            "`values: []` matches any value of the key",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v2.query.tags_any_needs_one_entry",
            ImsV2,
            tags_any,
            "`tags_any`: at least one listed entry matches",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v2.query.not_tags_excludes_images_matching_every_entry",
            ImsV2,
            not_tags,
            "`not_tags`: images matching every entry are excluded",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v2.query.not_tags_any_excludes_images_matching_any_entry",
            ImsV2,
            not_tags_any,
            "`not_tags_any`: images matching any entry are excluded",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v2.query.without_any_tag_ignores_the_lists",
            ImsV2,
            without_any_tag,
            "`without_any_tag: true` gives untagged images only and ignores the four lists",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v2.query.keys_are_case_sensitive",
            ImsV2,
            case_sensitive,
            "keys are compared exactly (ENV is not env)",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v2.query.count_returns_only_the_total",
            ImsV2,
            count_only,
            "`count` returns exactly {\"total_count\": N}, the total of `filter`",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v2.query.matches_names_case_insensitively",
            ImsV2,
            match_name,
            "`matches` resource_name is a case-insensitive substring",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v2.query.matches_an_empty_name_exactly",
            ImsV2,
            match_empty_name,
            "`matches` resource_name \"\" matches the empty name exactly",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v2.query.matches_ids_exactly",
            ImsV2,
            match_id,
            "`matches` resource_id is exact; matches entries all hold",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v2.query.newest_first_then_by_id",
            ImsV2,
            order,
            "results are ordered by created_at descending, then id ascending",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v2.query.limit_and_offset_page_the_results",
            ImsV2,
            paging,
            "limit and offset (JSON strings or integers) page the results; total_count counts them all",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v2.query.limit_defaults_to_10",
            ImsV2,
            default_limit,
            "without `limit` a page has 10 results",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v2.query.offset_past_the_end_is_empty",
            ImsV2,
            past_end,
            "an offset past the end gives no resources",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v2.query.resources_have_id_name_status_and_tags",
            ImsV2,
            resource_shape,
            "each resource is {resource_id, resource_name, resource_detail: {status}, tags: [{key, value}]}",
            Need::Registry
        ),
        case!(
            contract,
            "ims.v2.query.only_the_callers_project",
            ImsV2,
            own_project_only,
            "op 5 finds only images owned by the caller's project, not public images of others",
            Need::Registry,
            Need::Other
        ),
        case!(
            contract,
            "ims.v2.query.action_is_filter_or_count",
            ImsV2,
            bad_action,
            "`action` is `filter` or `count`, case-sensitive; else 400 IMG.0001"
        ),
        case!(
            contract,
            "ims.v2.query.empty_lists_are_400",
            ImsV2,
            empty_lists,
            "tags, tags_any, not_tags, not_tags_any and matches may be omitted but not []: 400 IMG.0001"
        ),
        case!(
            contract,
            "ims.v2.query.entries_at_the_limit_are_accepted",
            ImsV2,
            entries_n,
            "10 entries per list and 10 values per entry are accepted"
        ),
        case!(
            contract,
            "ims.v2.query.entries_over_the_limit_are_400",
            ImsV2,
            entries_n1,
            "11 entries in a list, or 11 values in an entry, is 400 IMG.0001"
        ),
        case!(
            contract,
            "ims.v2.query.entries_need_unique_keys_and_values",
            ImsV2,
            entry_shape,
            "keys are unique per list and each entry needs `values`: else 400 IMG.0001"
        ),
        case!(
            contract,
            "ims.v2.query.matches_keys_are_resource_name_or_id",
            ImsV2,
            match_keys,
            "`matches` keys are only resource_name and resource_id: else 400 IMG.0001"
        ),
        case!(
            contract,
            "ims.v2.query.limit_is_1_to_1000",
            ImsV2,
            limit_bounds,
            "limit 1 and 1000 are accepted, 0 and 1001 are 400 IMG.0001"
        ),
        case!(
            contract,
            "ims.v2.query.limit_and_offset_are_non_negative_numbers",
            ImsV2,
            bad_numbers,
            "a negative or non-numeric limit or offset is 400 IMG.0001"
        ),
        case!(
            contract,
            "ims.v2.query.count_ignores_limit_and_offset",
            ImsV2,
            count_ignores_paging,
            "limit and offset are ignored (not validated) for count"
        ),
        case!(
            contract,
            "ims.v2.query.lists_are_validated_with_without_any_tag",
            ImsV2,
            validated_anyway,
            "the lists are validated even when without_any_tag is true"
        ),
        case!(
            contract,
            "ims.v2.query.keys_and_values_over_255_are_400",
            ImsV2,
            lookup_n1,
            "keys and values over 255 characters are 400 IMG.0001"
        ),
        case!(
            contract,
            "ims.v2.query.through_the_generated_client",
            ImsV2,
            client_query,
            "op 5 through the generated client: filter with a string limit and an integer offset",
            Need::Registry
        ),
    ]
}

/// The images of a query case: all named `<scope>-<label>`.
struct Fixture {
    scope: String,
    /// (label, id), oldest first.
    images: Vec<(String, String)>,
}

async fn fixture(c: &Ctx) -> Result<Fixture, Failure> {
    let scope = c.unique_name("q");
    let specs: [(&str, &[&str]); 5] = [
        ("Web-Prod", &["env=prod", "team=web"]),
        ("web-dev", &["env=dev", "team=web"]),
        ("db-prod", &["env=prod", "team=db", "deprecated=true"]),
        ("bare", &[]),
        ("solo", &["solo"]),
    ];
    let mut images = Vec::new();
    for (label, tags) in specs {
        let id = c.image(Who::Owner, json!({"name": format!("{scope}-{label}"), "tags": tags})).await?;
        images.push((label.to_owned(), id));
    }
    Ok(Fixture { scope, images })
}

fn path(c: &Ctx) -> String {
    format!("/v2/{}/images/resource_instances/action", seg(&c.p1()))
}

async fn raw_query(c: &Ctx, body: &Value) -> Result<Response, Failure> {
    c.owner(Request::new("POST", path(c)).json(body)).await
}

/// `body` narrowed to the fixture's images.
fn scoped(f: &Fixture, mut body: Value) -> Value {
    if body.get("matches").is_none() {
        body["matches"] = json!([{"key": "resource_name", "value": f.scope}]);
    }
    body
}

/// The labels found by a `filter` query (sorted) and its total.
async fn labels(c: &Ctx, f: &Fixture, mut body: Value) -> Result<(Vec<String>, u64), Failure> {
    body["action"] = json!("filter");
    body["limit"] = json!(1000);
    let r = raw_query(c, &scoped(f, body)).await?;
    let json = r.expect_json(200)?;
    let resources = json["resources"].as_array().ok_or_else(|| r.fail("no resources"))?;
    let mut labels: Vec<String> = resources
        .iter()
        .map(|r| {
            r["resource_name"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches(&format!("{}-", f.scope))
                .to_owned()
        })
        .collect();
    labels.sort();
    let total = json["total_count"].as_u64().ok_or_else(|| r.fail("no total_count"))?;
    Ok((labels, total))
}

/// Checks that `body` finds exactly `want` (with `filter`, and the same total with `count`).
async fn finds(c: &Ctx, f: &Fixture, body: Value, want: &[&str]) -> CaseResult {
    let (got, total) = labels(c, f, body.clone()).await?;
    ensure_eq!(got, want.to_vec(), "{body}");
    ensure_eq!(total, want.len() as u64, "total_count of {body}");
    Ok(())
}

async fn tags_all(c: &Ctx) -> CaseResult {
    let f = fixture(c).await?;
    finds(c, &f, json!({"tags": [{"key": "env", "values": ["prod"]}]}), &["Web-Prod", "db-prod"]).await?;
    let both =
        json!({"tags": [{"key": "env", "values": ["prod", "dev"]}, {"key": "team", "values": ["web"]}]});
    finds(c, &f, both, &["Web-Prod", "web-dev"]).await
}

async fn empty_values(c: &Ctx) -> CaseResult {
    let f = fixture(c).await?;
    finds(c, &f, json!({"tags": [{"key": "team", "values": []}]}), &["Web-Prod", "db-prod", "web-dev"]).await
}

async fn tags_any(c: &Ctx) -> CaseResult {
    let f = fixture(c).await?;
    let body = json!({"tags_any": [{"key": "solo", "values": []}, {"key": "team", "values": ["db"]}]});
    finds(c, &f, body, &["db-prod", "solo"]).await
}

async fn not_tags(c: &Ctx) -> CaseResult {
    let f = fixture(c).await?;
    let body = json!({"not_tags": [{"key": "env", "values": ["prod"]}, {"key": "team", "values": ["web"]}]});
    finds(c, &f, body, &["bare", "db-prod", "solo", "web-dev"]).await
}

async fn not_tags_any(c: &Ctx) -> CaseResult {
    let f = fixture(c).await?;
    let body =
        json!({"not_tags_any": [{"key": "deprecated", "values": []}, {"key": "env", "values": ["dev"]}]});
    finds(c, &f, body, &["Web-Prod", "bare", "solo"]).await
}

async fn without_any_tag(c: &Ctx) -> CaseResult {
    let f = fixture(c).await?;
    finds(c, &f, json!({"without_any_tag": true, "tags": [{"key": "env", "values": []}]}), &["bare"]).await
}

async fn case_sensitive(c: &Ctx) -> CaseResult {
    let f = fixture(c).await?;
    finds(c, &f, json!({"tags": [{"key": "ENV", "values": []}]}), &[]).await?;
    finds(c, &f, json!({"tags": [{"key": "env", "values": ["PROD"]}]}), &[]).await
}

async fn count_only(c: &Ctx) -> CaseResult {
    let f = fixture(c).await?;
    for (body, n) in [
        (json!({"tags": [{"key": "env", "values": ["prod"]}]}), 2),
        (json!({"without_any_tag": true}), 1),
        (json!({}), 5),
    ] {
        let mut counted = scoped(&f, body.clone());
        counted["action"] = json!("count");
        let r = raw_query(c, &counted).await?;
        if r.expect_json(200)? != json!({"total_count": n}) {
            return Err(r.fail(format!("expected exactly {{\"total_count\": {n}}}")));
        }
    }
    Ok(())
}

async fn match_name(c: &Ctx) -> CaseResult {
    let f = fixture(c).await?;
    let upper = format!("{}-WEB", f.scope.to_uppercase());
    finds(c, &f, json!({"matches": [{"key": "resource_name", "value": upper}]}), &["Web-Prod", "web-dev"])
        .await
}

async fn match_empty_name(c: &Ctx) -> CaseResult {
    let nameless = c.image(Who::Owner, json!({"name": ""})).await?;
    c.image(Who::Owner, json!({"name": "named"})).await?;
    let body = json!({"action": "filter", "limit": 1000, "matches": [{"key": "resource_name", "value": ""}]});
    let r = raw_query(c, &body).await?;
    let json = r.expect_json(200)?;
    let resources = json["resources"].as_array().ok_or_else(|| r.fail("no resources"))?;
    if !resources.iter().any(|x| x["resource_id"] == nameless.as_str()) {
        return Err(r.fail("the image without a name is not found"));
    }
    if resources.iter().any(|x| x["resource_name"] != "") {
        return Err(r.fail("a named image matched the empty name"));
    }
    Ok(())
}

async fn match_id(c: &Ctx) -> CaseResult {
    let f = fixture(c).await?;
    let id = f.images[2].1.clone();
    finds(c, &f, json!({"matches": [{"key": "resource_id", "value": id}]}), &["db-prod"]).await?;
    finds(c, &f, json!({"matches": [{"key": "resource_id", "value": &id[..8]}]}), &[]).await?;
    let both =
        json!({"matches": [{"key": "resource_name", "value": f.scope}, {"key": "resource_id", "value": id}]});
    finds(c, &f, both, &["db-prod"]).await
}

async fn order(c: &Ctx) -> CaseResult {
    let f = fixture(c).await?;
    let r = raw_query(c, &scoped(&f, json!({"action": "filter", "limit": 1000}))).await?;
    let json = r.expect_json(200)?;
    let mut rows = Vec::new();
    for resource in json["resources"].as_array().ok_or_else(|| r.fail("no resources"))? {
        let id = resource["resource_id"].as_str().unwrap_or_default().to_owned();
        let doc = c.owner(Request::new("GET", format!("/v2/images/{}", seg(&id)))).await?.expect_json(200)?;
        rows.push((doc["created_at"].as_str().unwrap_or_default().to_owned(), id));
    }
    let mut expected = rows.clone();
    expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    if rows != expected {
        return Err(r.fail(format!("not newest first then by id: {rows:?}")));
    }
    Ok(())
}

fn ids(json: &Value) -> Vec<String> {
    json["resources"]
        .as_array()
        .map(|list| list.iter().map(|r| r["resource_id"].as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}

async fn paging(c: &Ctx) -> CaseResult {
    let f = fixture(c).await?;
    let all =
        raw_query(c, &scoped(&f, json!({"action": "filter", "limit": 1000}))).await?.expect_json(200)?;
    let order = ids(&all);
    ensure_eq!(order.len(), 5, "all results");
    let first = raw_query(c, &scoped(&f, json!({"action": "filter", "limit": "2", "offset": "0"})))
        .await?
        .expect_json(200)?;
    let second = raw_query(c, &scoped(&f, json!({"action": "filter", "limit": 2, "offset": 2})))
        .await?
        .expect_json(200)?;
    ensure_eq!(ids(&first), order[0..2].to_vec(), "limit \"2\" offset \"0\"");
    ensure_eq!(ids(&second), order[2..4].to_vec(), "limit 2 offset 2");
    ensure_eq!(first["total_count"], json!(5), "the total is not the page size");
    Ok(())
}

async fn default_limit(c: &Ctx) -> CaseResult {
    let scope = c.unique_name("many");
    let n = c.target.limits.query_default_limit;
    for i in 0..=n {
        c.image(Who::Owner, json!({"name": format!("{scope}-{i}")})).await?;
    }
    let body = json!({"action": "filter", "matches": [{"key": "resource_name", "value": scope}]});
    let r = raw_query(c, &body).await?;
    let json = r.expect_json(200)?;
    if ids(&json).len() as u64 != n || json["total_count"] != json!(n + 1) {
        return Err(r.fail(format!("expected {n} of {} results", n + 1)));
    }
    Ok(())
}

async fn past_end(c: &Ctx) -> CaseResult {
    let f = fixture(c).await?;
    let json =
        raw_query(c, &scoped(&f, json!({"action": "filter", "offset": "10"}))).await?.expect_json(200)?;
    ensure!(ids(&json).is_empty(), "resources past the end: {json}");
    ensure_eq!(json["total_count"], json!(5), "total_count");
    Ok(())
}

async fn resource_shape(c: &Ctx) -> CaseResult {
    let f = fixture(c).await?;
    let body = scoped(&f, json!({"action": "filter", "tags": [{"key": "team", "values": ["db"]}]}));
    let r = raw_query(c, &body).await?;
    let json = r.expect_json(200)?;
    let resource = &json["resources"][0];
    let mut tags: Vec<(String, String)> = resource["tags"]
        .as_array()
        .ok_or_else(|| r.fail("no tags"))?
        .iter()
        .map(|t| (t["key"].as_str().unwrap_or("?").to_owned(), t["value"].as_str().unwrap_or("?").to_owned()))
        .collect();
    tags.sort();
    let want = vec![
        ("deprecated".to_owned(), "true".to_owned()),
        ("env".into(), "prod".into()),
        ("team".into(), "db".into()),
    ];
    if resource["resource_id"] != f.images[2].1.as_str()
        || resource["resource_detail"] != json!({"status": "queued"})
        || tags != want
    {
        return Err(r.fail(format!(
            "expected db-prod with resource_detail {{\"status\": \"queued\"}} and tags {want:?}"
        )));
    }
    Ok(())
}

async fn own_project_only(c: &Ctx) -> CaseResult {
    let f = fixture(c).await?;
    c.image(
        Who::Other,
        json!({"name": format!("{}-foreign", f.scope), "visibility": "public", "tags": ["env=prod"]}),
    )
    .await?;
    finds(c, &f, json!({"tags": [{"key": "env", "values": ["prod"]}]}), &["Web-Prod", "db-prod"]).await
}

/// Each body must be refused with 400 IMG.0001.
async fn refused(c: &Ctx, bodies: Vec<Value>) -> CaseResult {
    for body in bodies {
        raw_query(c, &body).await?.expect_error(400, "IMG.0001").map_err(|f| f.context(&body))?;
    }
    Ok(())
}

async fn bad_action(c: &Ctx) -> CaseResult {
    refused(c, vec![json!({"action": "FILTER"}), json!({"action": "delete"}), json!({})]).await
}

async fn empty_lists(c: &Ctx) -> CaseResult {
    let lists = ["tags", "tags_any", "not_tags", "not_tags_any", "matches"];
    refused(c, lists.iter().map(|list| json!({"action": "filter", *list: []})).collect()).await
}

fn entries(n: usize) -> Vec<Value> {
    (0..n).map(|i| json!({"key": format!("k{i}"), "values": []})).collect()
}

fn values(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}

async fn entries_n(c: &Ctx) -> CaseResult {
    let l = c.target.limits;
    for body in [
        json!({"action": "count", "tags_any": entries(l.query_max_entries)}),
        json!({"action": "count", "tags": [{"key": "k", "values": values(l.query_max_values)}]}),
    ] {
        raw_query(c, &body).await?.expect(200).map_err(|f| f.context(&body))?;
    }
    Ok(())
}

async fn entries_n1(c: &Ctx) -> CaseResult {
    let l = c.target.limits;
    refused(
        c,
        vec![
            json!({"action": "filter", "tags_any": entries(l.query_max_entries + 1)}),
            json!({"action": "filter", "tags": [{"key": "k", "values": values(l.query_max_values + 1)}]}),
        ],
    )
    .await
}

async fn entry_shape(c: &Ctx) -> CaseResult {
    refused(
        c,
        vec![
            json!({"action": "filter", "tags": [{"key": "k", "values": []}, {"key": "k", "values": ["v"]}]}),
            json!({"action": "filter", "not_tags": [{"key": "k"}]}),
        ],
    )
    .await
}

async fn match_keys(c: &Ctx) -> CaseResult {
    refused(c, vec![json!({"action": "filter", "matches": [{"key": "status", "value": "active"}]})]).await
}

async fn limit_bounds(c: &Ctx) -> CaseResult {
    let max = c.target.limits.query_max_limit;
    for limit in [json!(1), json!(max), json!(max.to_string())] {
        raw_query(c, &json!({"action": "filter", "limit": limit}))
            .await?
            .expect(200)
            .map_err(|f| f.context(&limit))?;
    }
    refused(
        c,
        vec![
            json!({"action": "filter", "limit": "0"}),
            json!({"action": "filter", "limit": 0}),
            json!({"action": "filter", "limit": max + 1}),
        ],
    )
    .await
}

async fn bad_numbers(c: &Ctx) -> CaseResult {
    refused(
        c,
        vec![
            json!({"action": "filter", "limit": "-1"}),
            json!({"action": "filter", "offset": "-1"}),
            json!({"action": "filter", "offset": -1}),
            json!({"action": "filter", "limit": "ten"}),
        ],
    )
    .await
}

async fn count_ignores_paging(c: &Ctx) -> CaseResult {
    let r = raw_query(c, &json!({"action": "count", "limit": "0", "offset": "-1"})).await?;
    let json = r.expect_json(200)?;
    if json.as_object().map(|o| o.len()) != Some(1) || !json["total_count"].is_u64() {
        return Err(r.fail("expected only total_count"));
    }
    Ok(())
}

async fn validated_anyway(c: &Ctx) -> CaseResult {
    refused(c, vec![
        json!({"action": "filter", "without_any_tag": true, "tags": [{"key": "k".repeat(256), "values": []}]}),
        json!({"action": "filter", "without_any_tag": true, "tags": []}),
    ])
    .await
}

async fn lookup_n1(c: &Ctx) -> CaseResult {
    let long = "x".repeat(c.target.limits.lookup_max + 1);
    refused(
        c,
        vec![
            json!({"action": "filter", "tags": [{"key": "k", "values": [long]}]}),
            json!({"action": "filter", "tags": [{"key": long, "values": []}]}),
        ],
    )
    .await
}

async fn client_query(c: &Ctx) -> CaseResult {
    let f = fixture(c).await?;
    let client = c.client(Who::Owner)?;
    let body = types::ListImageByTagsRequest::builder()
        .action(types::QueryAction::Filter)
        .tags(Some(vec![types::TagsFilter {
            key: "env".try_into().map_err(|e| Failure::new(format!("{e}")))?,
            values: Some(vec!["prod".into()]),
        }]))
        .matches(Some(vec![types::TagKeyValue {
            key: "resource_name".into(),
            value: f.scope.clone().try_into().map_err(|e| Failure::new(format!("{e}")))?,
        }]))
        .limit(Some(types::ListImageByTagsRequestLimit::String(
            "1".parse().map_err(|e| Failure::new(format!("{e}")))?,
        )))
        .offset(Some(types::ListImageByTagsRequestOffset::Int64(0)));
    let response =
        call("list_image_by_tags", client.list_image_by_tags().project_id(c.p1()).body(body).send()).await?;
    ensure_eq!(response.total_count, 2, "total_count");
    let resources = response.resources.unwrap_or_default();
    ensure_eq!(resources.len(), 1, "resources on a page of 1");
    ensure!(resources[0].tags.iter().any(|t| t.key == "env" && t.value == "prod"), "{:?}", resources[0]);
    Ok(())
}

//! Nothing ever reveals another project's private image (contract section 5): filters and queries that name
//! it (its id, name, tags, owner, a page marker) find nothing for another project, and answer exactly as they
//! do for an image that does not exist.

use serde_json::{Value, json};

use crate::case::{Case, Ctx, Need, seg};
use crate::cases::missing_id;
use crate::http::Request;
use crate::outcome::{CaseResult, Failure};
use crate::target::Who;

pub(crate) fn cases() -> Vec<Case> {
    vec![
        case!(
            contract,
            "isolation.registry.filters_naming_a_private_image_find_nothing",
            Registry,
            registry,
            "GET /v2/images by another project's private image name, tag, owner or marker reveals nothing",
            Need::Other
        ),
        case!(
            contract,
            "isolation.ims_v1.filters_naming_a_private_image_find_nothing",
            ImsV1,
            ims_v1,
            "op 4 by another project's private image id, name, owner, tag or __imagetype reveals nothing",
            Need::Registry,
            Need::Other
        ),
        case!(
            contract,
            "isolation.ims_v2.queries_naming_a_private_image_find_nothing",
            ImsV2,
            ims_v2,
            "op 5 and op 10 never count or show another project's private image",
            Need::Registry,
            Need::Other
        ),
    ]
}

/// The owner's private image, named and tagged with this case's secrets.
struct Secret {
    id: String,
    name: String,
    key: String,
    value: String,
}

async fn secret(c: &Ctx) -> Result<Secret, Failure> {
    let name = c.unique_name("private");
    let (key, value) = (format!("hidden{}", c.target.run_id), format!("value{}", c.target.run_id));
    let id = c.image(Who::Owner, json!({"name": name, "tags": [format!("{key}={value}")]})).await?;
    Ok(Secret { id, name, key, value })
}

type Probe = (&'static str, String, Option<Value>);

/// Sends each probe as the other project for the private image and for a missing one: the answers must be the
/// same, reveal none of the secrets, and count nothing.
async fn probe(c: &Ctx, s: &Secret, probes: impl Fn(&str) -> Vec<Probe>) -> CaseResult {
    let missing = missing_id();
    for ((method, path, body), (_, missing_path, missing_body)) in
        probes(&s.id).into_iter().zip(probes(&missing))
    {
        let send = |path: String, body: Option<Value>| {
            let mut request = Request::new(method, path);
            if let Some(body) = body {
                request = request.json(&body);
            }
            c.send(Who::Other, request)
        };
        let r = send(path.clone(), body).await?;
        let m = send(missing_path, missing_body).await?;
        if r.status >= 500 {
            return Err(r.fail("a 5xx"));
        }
        // The data of the answer, without the links that echo the query.
        let mut data: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        if let Some(object) = data.as_object_mut() {
            for link in ["first", "next", "schema"] {
                object.remove(link);
            }
        }
        let data = data.to_string();
        for leaked in [&s.name, &s.key, &s.value, &s.id] {
            if data.contains(leaked.as_str()) {
                return Err(r.fail(format!("{method} {path} revealed {leaked:?}")));
            }
        }
        if r.status != m.status || r.text() != m.text().replace(&missing, &s.id) {
            return Err(r.fail(format!(
                "answered differently than for a missing image, which got {} {}",
                m.status,
                m.text()
            )));
        }
        if r.status == 200
            && r.json().ok().and_then(|j| j.get("total_count").cloned()).is_some_and(|n| n != 0)
        {
            return Err(r.fail("counted the private image"));
        }
    }
    Ok(())
}

async fn registry(c: &Ctx) -> CaseResult {
    let s = secret(c).await?;
    let (name, tag, owner) = (seg(&s.name), seg(&format!("{}={}", s.key, s.value)), seg(&c.p1()));
    probe(c, &s, |id| {
        vec![
            ("GET", format!("/v2/images?name={name}"), None),
            ("GET", format!("/v2/images?tag={tag}"), None),
            ("GET", format!("/v2/images?owner={owner}&tag={tag}"), None),
            ("GET", format!("/v2/images?visibility=private&tag={tag}"), None),
            ("GET", format!("/v2/images?marker={}", seg(id)), None),
        ]
    })
    .await
}

async fn ims_v1(c: &Ctx) -> CaseResult {
    let s = secret(c).await?;
    let (name, tag, owner) = (seg(&s.name), seg(&format!("{}={}", s.key, s.value)), seg(&c.p1()));
    probe(c, &s, |id| {
        vec![
            ("GET", format!("/v1/cloudimages/tags?id={}", seg(id)), None),
            ("GET", format!("/v1/cloudimages/tags?name={name}"), None),
            ("GET", format!("/v1/cloudimages/tags?owner={owner}&name={name}"), None),
            ("GET", format!("/v1/cloudimages/tags?__imagetype=private&name={name}"), None),
            ("GET", format!("/v1/cloudimages/tags?tag={tag}"), None),
        ]
    })
    .await
}

async fn ims_v2(c: &Ctx) -> CaseResult {
    let s = secret(c).await?;
    let other = seg(&c.project(Who::Other));
    let query = format!("/v2/{other}/images/resource_instances/action");
    let (name, key) = (s.name.clone(), s.key.clone());
    probe(c, &s, |id| {
        vec![
            (
                "POST",
                query.clone(),
                Some(json!({"action": "filter", "matches": [{"key": "resource_id", "value": id}]})),
            ),
            (
                "POST",
                query.clone(),
                Some(json!({"action": "count", "matches": [{"key": "resource_name", "value": name}]})),
            ),
            ("POST", query.clone(), Some(json!({"action": "count", "tags": [{"key": key, "values": []}]}))),
        ]
    })
    .await?;
    let all = c.send(Who::Other, Request::new("GET", format!("/v2/{other}/images/tags"))).await?;
    all.expect(200)?;
    if all.text().contains(&s.key) {
        return Err(all.fail("op 10 of another project shows the private image's key"));
    }
    Ok(())
}

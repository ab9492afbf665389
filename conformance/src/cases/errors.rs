//! Contract section 6 and the order of checks (section 5): authentication failures, project scope, the one
//! error envelope (also on errors the HTTP layer answers itself), request ids, Content-Type, and no input
//! ever giving a 5xx or changing data it was rejected for.

use std::collections::BTreeSet;

use serde_json::json;

use crate::case::{Case, Ctx, Need, seg};
use crate::cases::{foreign_project, missing_id, native_path, put_native, v2_tags_path};
use crate::http::{Caller, Request, Response};
use crate::outcome::{CaseResult, Failure};
use crate::target::{Family, Who};
use crate::{ensure, ensure_eq};

pub(crate) fn cases() -> Vec<Case> {
    vec![
        case!(
            contract,
            "errors.401.no_credentials",
            Common,
            no_credentials,
            "a secured operation without credentials is 401 APIGW.0301"
        ),
        case!(
            contract,
            "errors.401.wrong_token",
            Common,
            wrong_token,
            "an unknown X-Auth-Token is 401 APIGW.0301"
        ),
        case!(
            contract,
            "errors.401.malformed_authorization",
            Common,
            malformed_authorization,
            "an Authorization header that is no SDK signature is 401 APIGW.0301"
        ),
        case!(
            choice,
            "errors.401.message_says_which_check_failed",
            Common,
            message_says_which,
            "the 401 message says \"no credentials\" or names the token"
        ),
        case!(
            contract,
            "errors.403.path_project_out_of_scope",
            ImsV2,
            path_project_out_of_scope,
            "a {project_id} the credential is not scoped to is 403 IMG.0026"
        ),
        case!(
            contract,
            "errors.403.x_project_id_out_of_scope",
            Common,
            header_project_out_of_scope,
            "an X-Project-Id the credential is not scoped to is 403 IMG.0026"
        ),
        case!(
            contract,
            "errors.403.x_project_id_differs_from_the_path",
            ImsV2,
            header_differs_from_path,
            "an X-Project-Id other than the path project is 403 IMG.0026, even one in scope",
            Need::SecondProject
        ),
        case!(
            contract,
            "errors.403.matching_x_project_id_is_fine",
            ImsV2,
            header_matches_path,
            "an X-Project-Id equal to the path project is fine"
        ),
        case!(
            contract,
            "errors.order.401_before_403_and_400",
            ImsV2,
            order_401_first,
            "authentication is checked before the project and the body"
        ),
        case!(
            contract,
            "errors.order.403_project_before_400_body",
            ImsV2,
            order_project_before_body,
            "the project is checked before the body"
        ),
        case!(
            contract,
            "errors.order.403_permission_before_400_body",
            ImsV2,
            order_permission_before_body,
            "the IAM permission is checked before the body",
            Need::Lacking("ims:images:update")
        ),
        case!(
            contract,
            "errors.order.400_body_before_404_image",
            ImsV2,
            order_body_before_image,
            "a malformed body or an invalid tag is 400 even for an image that does not exist"
        ),
        case!(
            contract,
            "errors.order.400_path_before_404_image",
            Native,
            order_path_before_image,
            "an invalid path parameter is 400 even for an image that does not exist"
        ),
        case!(
            contract,
            "errors.order.403_not_owner_before_404_tag",
            ImsV2,
            order_owner_before_tag,
            "deleting a missing tag of a visible image one does not own is 403, not 404",
            Need::Registry,
            Need::Other
        ),
        case!(
            contract,
            "errors.envelope.unknown_route",
            Common,
            unknown_route,
            "a path no route matches is 404 in the envelope"
        ),
        case!(
            choice,
            "errors.codes.unknown_route_is_apigw_0101",
            Common,
            unknown_route_code,
            "a path no route matches is 404 APIGW.0101"
        ),
        case!(
            contract,
            "errors.envelope.wrong_method_is_405_with_allow",
            ImsV1,
            wrong_method,
            "a route with another method is 405 in the envelope with Allow"
        ),
        case!(
            choice,
            "errors.codes.wrong_method_is_img_0001",
            ImsV1,
            wrong_method_code,
            "405 carries IMG.0001"
        ),
        case!(
            contract,
            "errors.envelope.body_over_1_mib_is_413",
            Common,
            body_too_large,
            "a body over 1 MiB is 413 in the envelope"
        ),
        case!(
            choice,
            "errors.codes.body_over_1_mib_is_img_0001",
            Common,
            body_too_large_code,
            "413 for a large body carries IMG.0001"
        ),
        case!(
            contract,
            "errors.wire.body_over_the_limit_closes_the_connection",
            Common,
            wire_413_closes,
            "a body over the limit gets 413 in the envelope with Connection: close",
            Need::PlainHttp
        ),
        case!(
            contract,
            "errors.wire.headers_too_large_is_431_in_the_envelope",
            Common,
            wire_431,
            "431 from the HTTP layer carries the envelope",
            Need::PlainHttp
        ),
        case!(
            contract,
            "errors.wire.uri_too_long_is_414_in_the_envelope",
            Common,
            wire_414,
            "414 from the HTTP layer carries the envelope",
            Need::PlainHttp
        ),
        case!(
            contract,
            "errors.wire.malformed_request_line_is_400_in_the_envelope",
            Common,
            wire_bad_request_line,
            "400 for a malformed request line carries the envelope",
            Need::PlainHttp
        ),
        case!(
            contract,
            "errors.wire.malformed_content_length_is_400_in_the_envelope",
            Common,
            wire_bad_content_length,
            "400 for a malformed Content-Length carries the envelope",
            Need::PlainHttp
        ),
        case!(
            contract,
            "errors.request_id.on_every_response",
            Common,
            request_id_everywhere,
            "every response carries X-Request-Id"
        ),
        case!(
            choice,
            "errors.request_id.the_client_id_is_echoed",
            Common,
            request_id_echoed,
            "an X-Request-Id sent by the client is answered back"
        ),
        case!(
            contract,
            "errors.content_type.never_required",
            ImsV2,
            content_type_never_required,
            "a JSON body is read whatever its Content-Type (none, octet-stream, text/plain); never 415"
        ),
        case!(
            contract,
            "errors.no_5xx.malformed_input_changes_nothing",
            Common,
            no_5xx,
            "no input, however malformed, yields a 5xx or changes stored data",
            Need::Images(1)
        ),
        case!(
            contract,
            "errors.envelope.on_every_error_of_malformed_input",
            Common,
            envelope_everywhere,
            "every error of every route is the one envelope",
            Need::Images(1)
        ),
    ]
}

/// A secured GET of a family the target serves.
fn secured_get(c: &Ctx) -> Request {
    if c.target.serves(Family::ImsV1) {
        Request::new("GET", "/v1/cloudimages/tags?limit=1")
    } else {
        Request::new("GET", "/v2/images?limit=1")
    }
}

async fn no_credentials(c: &Ctx) -> CaseResult {
    c.anonymous(secured_get(c)).await?.expect_error(401, "APIGW.0301")?;
    Ok(())
}

async fn wrong_token(c: &Ctx) -> CaseResult {
    let request = secured_get(c).header("x-auth-token", "not-a-token-of-this-target");
    c.anonymous(request).await?.expect_error(401, "APIGW.0301")?;
    Ok(())
}

async fn malformed_authorization(c: &Ctx) -> CaseResult {
    let request = secured_get(c).header("authorization", "Bearer abc");
    c.anonymous(request).await?.expect_error(401, "APIGW.0301")?;
    Ok(())
}

async fn message_says_which(c: &Ctx) -> CaseResult {
    let r = c.anonymous(secured_get(c)).await?;
    let (_, message) = r.envelope().ok_or_else(|| r.fail("no envelope"))?;
    ensure!(
        message.to_lowercase().contains("no credentials"),
        "the message does not say \"no credentials\": {message}"
    );
    let r = c.anonymous(secured_get(c).header("x-auth-token", "wrong")).await?;
    let (_, message) = r.envelope().ok_or_else(|| r.fail("no envelope"))?;
    ensure!(message.to_lowercase().contains("token"), "the message does not name the token: {message}");
    Ok(())
}

async fn path_project_out_of_scope(c: &Ctx) -> CaseResult {
    let path = format!("/v2/{}/images/tags", foreign_project());
    c.owner(Request::new("GET", path)).await?.expect_error(403, "IMG.0026")?;
    Ok(())
}

async fn header_project_out_of_scope(c: &Ctx) -> CaseResult {
    let request = secured_get(c).header("x-project-id", &foreign_project());
    c.owner(request).await?.expect_error(403, "IMG.0026")?;
    Ok(())
}

async fn header_differs_from_path(c: &Ctx) -> CaseResult {
    let path = format!("/v2/{}/images/tags", seg(&c.p1()));
    let second = c.project(Who::OwnerElsewhere);
    c.owner(Request::new("GET", path).header("x-project-id", &second))
        .await?
        .expect_error(403, "IMG.0026")?;
    Ok(())
}

async fn header_matches_path(c: &Ctx) -> CaseResult {
    let path = format!("/v2/{}/images/tags", seg(&c.p1()));
    c.owner(Request::new("GET", path).header("x-project-id", &c.p1())).await?.expect(200)?;
    Ok(())
}

const BAD_BODY: &str = "{not json";

async fn order_401_first(c: &Ctx) -> CaseResult {
    let path = format!("/v2/{}/images/{}/tags", foreign_project(), missing_id());
    c.anonymous(Request::new("POST", path).body(BAD_BODY)).await?.expect_error(401, "APIGW.0301")?;
    Ok(())
}

async fn order_project_before_body(c: &Ctx) -> CaseResult {
    let path = format!("/v2/{}/images/{}/tags", foreign_project(), missing_id());
    c.owner(Request::new("POST", path).body(BAD_BODY)).await?.expect_error(403, "IMG.0026")?;
    Ok(())
}

async fn order_permission_before_body(c: &Ctx) -> CaseResult {
    let who = Who::Lacking("ims:images:update");
    let path = format!("/v2/{}/images/{}/tags", seg(&c.project(who)), missing_id());
    c.send(who, Request::new("POST", path).body(BAD_BODY)).await?.expect_error(403, "IMG.0026")?;
    Ok(())
}

async fn order_body_before_image(c: &Ctx) -> CaseResult {
    let path = v2_tags_path(c, Who::Owner, &missing_id());
    c.owner(Request::new("POST", path.clone()).body(BAD_BODY)).await?.expect_error(400, "IMG.0001")?;
    let invalid = json!({"tag": {"key": "bad key", "value": ""}});
    c.owner(Request::new("POST", path).json(&invalid)).await?.expect_error(400, "IMG.0115")?;
    Ok(())
}

async fn order_path_before_image(c: &Ctx) -> CaseResult {
    let path = native_path(&missing_id(), "%FF");
    c.owner(Request::new("PUT", path)).await?.expect_error(400, "IMG.0001")?;
    Ok(())
}

async fn order_owner_before_tag(c: &Ctx) -> CaseResult {
    let public = c.image(Who::Other, json!({"visibility": "public"})).await?;
    let path = format!("{}/absent", v2_tags_path(c, Who::Owner, &public));
    c.owner(Request::new("DELETE", path)).await?.expect_error(403, "IMG.0026")?;
    Ok(())
}

async fn unknown_route(c: &Ctx) -> CaseResult {
    c.owner(Request::new("GET", "/no/such/route")).await?.expect_enveloped(404)?;
    Ok(())
}

async fn unknown_route_code(c: &Ctx) -> CaseResult {
    c.owner(Request::new("GET", "/no/such/route")).await?.expect_error(404, "APIGW.0101")?;
    Ok(())
}

fn allow_set(r: &Response) -> BTreeSet<String> {
    r.header("allow")
        .unwrap_or_default()
        .split(',')
        .map(|m| m.trim().to_ascii_uppercase())
        .filter(|m| !m.is_empty())
        .collect()
}

async fn wrong_method(c: &Ctx) -> CaseResult {
    let r = c.owner(Request::new("DELETE", "/v1/cloudimages/tags")).await?;
    r.expect_enveloped(405)?;
    let allow = allow_set(&r);
    ensure!(allow.contains("GET") && allow.contains("PUT") && !allow.contains("DELETE"), "Allow: {allow:?}");
    Ok(())
}

async fn wrong_method_code(c: &Ctx) -> CaseResult {
    c.owner(Request::new("DELETE", "/v1/cloudimages/tags")).await?.expect_error(405, "IMG.0001")?;
    Ok(())
}

fn big_body_request(c: &Ctx) -> Request {
    let big = format!("{{\"tag\": \"{}\"}}", "x".repeat(1024 * 1024));
    if c.target.serves(Family::ImsV1) {
        Request::new("PUT", "/v1/cloudimages/tags").body(big)
    } else {
        Request::new("POST", "/v2/images").body(big)
    }
}

async fn body_too_large(c: &Ctx) -> CaseResult {
    c.owner(big_body_request(c)).await?.expect_enveloped(413)?;
    Ok(())
}

async fn body_too_large_code(c: &Ctx) -> CaseResult {
    c.owner(big_body_request(c)).await?.expect_error(413, "IMG.0001")?;
    Ok(())
}

/// The bytes of `request` as `who` (or nobody) would send them: authenticated over `signed_body`, with
/// `Connection: close` and, unless the request sets a framing header, a `Content-Length`.
pub(crate) async fn raw_request(
    c: &Ctx,
    who: Who,
    request: &Request,
    signed_body: &[u8],
) -> Result<Vec<u8>, Failure> {
    raw_request_as(c, &c.caller(who)?, request, signed_body)
}

/// [`raw_request`] for any caller.
pub(crate) fn raw_request_as(
    c: &Ctx,
    caller: &Caller,
    request: &Request,
    signed_body: &[u8],
) -> Result<Vec<u8>, Failure> {
    let host = c.http.host();
    let for_auth = Request { body: Some(signed_body.to_vec()), ..request.clone() };
    let headers = caller.authenticate(&host, &for_auth)?;
    let mut out = format!("{} {} HTTP/1.1\r\n", request.method, request.path).into_bytes();
    if !headers.contains_key("host") {
        out.extend_from_slice(format!("host: {host}\r\n").as_bytes());
    }
    out.extend_from_slice(b"connection: close\r\n");
    for (name, value) in &headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let body = request.body.clone().unwrap_or_default();
    if !headers.contains_key("content-length")
        && !headers.contains_key("transfer-encoding")
        && !body.is_empty()
    {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&body);
    Ok(out)
}

/// Sends raw bytes and requires an answer.
async fn wire(c: &Ctx, raw: &[u8]) -> Result<Response, Failure> {
    c.http
        .send_raw(raw)
        .await?
        .ok_or_else(|| Failure::new("the server closed the connection without an answer"))
}

async fn wire_413_closes(c: &Ctx) -> CaseResult {
    let request = big_body_request(c);
    let body = request.body.clone().unwrap_or_default();
    let raw = raw_request(c, Who::Owner, &request, &body).await?;
    let r = wire(c, &raw).await?;
    r.expect_enveloped(413)?;
    let connection = r.header("connection").unwrap_or_default().to_ascii_lowercase();
    if connection != "close" {
        return Err(r.fail(format!("expected Connection: close, got {connection:?}")));
    }
    Ok(())
}

async fn wire_431(c: &Ctx) -> CaseResult {
    let request = secured_get(c).header("x-padding", &"p".repeat(512 * 1024));
    let raw = raw_request(c, Who::Owner, &request, b"").await?;
    wire(c, &raw).await?.expect_enveloped(431)?;
    Ok(())
}

async fn wire_414(c: &Ctx) -> CaseResult {
    let request = Request::new("GET", format!("/v2/images?name={}", "n".repeat(70 * 1024)));
    let raw = raw_request(c, Who::Owner, &request, b"").await?;
    wire(c, &raw).await?.expect_enveloped(414)?;
    Ok(())
}

async fn wire_bad_request_line(c: &Ctx) -> CaseResult {
    let raw = format!("THIS IS NOT HTTP\r\nhost: {}\r\n\r\n", c.http.host());
    wire(c, raw.as_bytes()).await?.expect_enveloped(400)?;
    Ok(())
}

async fn wire_bad_content_length(c: &Ctx) -> CaseResult {
    let request = Request::new("POST", "/v2/images").header("content-length", "twelve").body("{}");
    let raw = raw_request(c, Who::Owner, &request, b"{}").await?;
    wire(c, &raw).await?.expect_enveloped(400)?;
    Ok(())
}

async fn request_id_everywhere(c: &Ctx) -> CaseResult {
    let answers = [
        c.owner(secured_get(c)).await?,
        c.anonymous(secured_get(c)).await?,
        c.owner(Request::new("GET", "/no/such/route")).await?,
    ];
    for r in answers {
        if r.header("x-request-id").is_none_or(str::is_empty) {
            return Err(r.fail("no X-Request-Id"));
        }
    }
    Ok(())
}

async fn request_id_echoed(c: &Ctx) -> CaseResult {
    let r = c.owner(secured_get(c).header("x-request-id", "conformance-request-1")).await?;
    ensure_eq!(r.header("x-request-id"), Some("conformance-request-1"), "X-Request-Id");
    Ok(())
}

async fn content_type_never_required(c: &Ctx) -> CaseResult {
    let image = c.own_image().await?;
    let types =
        [None, Some("application/octet-stream"), Some("text/plain"), Some("application/json;charset=utf-8")];
    for (i, content_type) in types.into_iter().enumerate() {
        let body = json!({"tag": {"key": format!("k{i}"), "value": "v"}});
        let mut request = Request::new("POST", v2_tags_path(c, Who::Owner, &image)).json(&body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        c.owner(request)
            .await?
            .expect(204)
            .map_err(|f| f.context(format!("Content-Type {content_type:?}")))?;
    }
    ensure_eq!(c.tags(&image).await?.len(), 4, "tags written");
    Ok(())
}

/// Malformed paths of the families the target serves, on `image`.
fn sweep_paths(c: &Ctx, image: &str) -> Vec<String> {
    let p1 = seg(&c.p1());
    let mut paths = Vec::new();
    if c.target.serves(Family::Native) {
        paths.extend([
            native_path(image, "%FF"),
            native_path(image, "%00"),
            "/v2/images/%FF/tags/x".to_owned(),
        ]);
    }
    if c.target.serves(Family::ImsV2) {
        paths.extend([
            format!("/v2/{p1}/images/{image}/tags/%C3%28"),
            format!("/v2/%FF/images/{image}/tags"),
            "/v2/%FF/images/tags".to_owned(),
            format!("/v2/{p1}/images/{image}/tags/action"),
            format!("/v2/{p1}/images/resource_instances/action"),
            format!("/v2/{p1}/images/{image}/tags"),
        ]);
    }
    if c.target.serves(Family::ImsV1) {
        paths.extend([
            "/v1/cloudimages/tags?limit=%FF&page=-1&created_at=%FF".to_owned(),
            "/v1/cloudimages/tags".to_owned(),
        ]);
    }
    if c.target.serves(Family::Registry) {
        paths.extend([
            "/v2/images?limit=-5&marker=%FF&tag=%FF".to_owned(),
            "/v2/images".to_owned(),
            format!("/v2/images/{image}/file"),
        ]);
    }
    paths
}

fn sweep_bodies(image: &str) -> Vec<Option<String>> {
    vec![
        None,
        Some(String::new()),
        Some("null".into()),
        Some("[]".into()),
        Some("\"string\"".into()),
        Some("{\"action\": null, \"tags\": null, \"tag\": null, \"image_id\": null}".into()),
        Some("{\"action\": \"create\", \"tags\": [{\"key\": null}]}".into()),
        Some("{\"action\": \"filter\", \"limit\": 1e309}".into()),
        Some("{\"action\": \"filter\", \"limit\": 18446744073709551616}".into()),
        Some(format!("{{\"image_id\": \"{image}\", \"tag\": \"\\ud800\"}}")),
        Some("\u{0}\u{1}\u{2}".into()),
        Some(format!("{{\"tags\": [\"{}\"]}}", "x".repeat(300))),
    ]
}

/// What the owner sees of an image: its tags (as a set) and, with the registry, its name and `updated_at`.
async fn image_state(c: &Ctx, image: &str) -> Result<String, Failure> {
    let tags = c.tags(image).await?;
    if c.target.serves(Family::Registry) || c.target.registry {
        let r = c.owner(Request::new("GET", format!("/v2/images/{}", seg(image)))).await?;
        let doc = r.expect_json(200)?;
        return Ok(format!("{tags:?} {} {}", doc["name"], doc["updated_at"]));
    }
    Ok(format!("{tags:?}"))
}

/// Sends every malformed request; `judge` says what is wrong with an answer.
async fn sweep(c: &Ctx, judge: impl Fn(&str, &str, &Response) -> Option<String>) -> CaseResult {
    let image = c.own_image().await?;
    put_native_or_v2(c, &image).await?;
    let before = image_state(c, &image).await?;
    for path in sweep_paths(c, &image) {
        for method in ["GET", "PUT", "POST", "DELETE", "PATCH"] {
            for body in sweep_bodies(&image) {
                let mut request = Request::new(method, path.clone());
                if let Some(body) = body {
                    request = request.body(body);
                }
                let r = c.owner(request).await?;
                if r.status == 201 && path == "/v2/images" {
                    // Something became an image: delete it (and the rule is not about this).
                    if let Some(id) = r.json().ok().and_then(|d| d["id"].as_str().map(str::to_owned)) {
                        let _ = c.owner(Request::new("DELETE", format!("/v2/images/{}", seg(&id)))).await;
                    }
                }
                if let Some(problem) = judge(method, &path, &r) {
                    return Err(r.fail(problem));
                }
            }
        }
    }
    let after = image_state(c, &image).await?;
    ensure_eq!(after, before, "the image after the rejected requests");
    Ok(())
}

/// Two tags on `image`, with the operations the target serves.
async fn put_native_or_v2(c: &Ctx, image: &str) -> CaseResult {
    if c.target.serves(Family::Native) {
        put_native(c, image, "keep").await?;
        put_native(c, image, "solo").await
    } else {
        crate::cases::fill(c, image, "keep", 2).await
    }
}

async fn no_5xx(c: &Ctx) -> CaseResult {
    sweep(c, |method, path, r| {
        let upload = method == "PUT" && path.ends_with("/file") && r.status == 501;
        (r.status >= 500 && !upload).then(|| format!("a {} for malformed input", r.status))
    })
    .await
}

async fn envelope_everywhere(c: &Ctx) -> CaseResult {
    sweep(c, |_, _, r| {
        (r.status >= 400 && r.envelope().is_none()).then(|| "an error without the envelope".to_owned())
    })
    .await
}

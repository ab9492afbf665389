//! AK/SK signatures as the Huawei SDKs send them (contract section 5): each algorithm accepted on paths,
//! queries and bodies, and every way a signature can be wrong refused with 401 and no change.

use std::time::{Duration, SystemTime};

use ims_tags_client::{Algorithm, Client, Credentials, V11Scope, types};
use ims_tags_signing::{Authorization, RequestParts, canonical_request, signature, string_to_sign};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::json;

use crate::case::Kind;
use crate::case::{Case, Ctx, Need, pairs, seg};
use crate::cases::{call, v2_tags_path};
use crate::http::{Request, sign};
use crate::outcome::{CaseResult, Failure};
use crate::target::{Family, Who};
use crate::{ensure, ensure_eq};

/// The SDK's User-Agent (it is signed).
const USER_AGENT: &str =
    "huaweicloud-usdk-python/3.0; os/Linux#6.1#x86_64 python/3.11.7 impl/CPython; app/ims-tags-conformance";
const MINUTE: Duration = Duration::from_secs(60);

/// What a refused-signature case starts from.
struct Env {
    host: String,
    credentials: Credentials,
    project: String,
    image: String,
    path: String,
}

impl Env {
    /// Op 7 on the image as the SDK builds it (User-Agent, Content-Type and X-Project-Id signed).
    fn post(&self) -> Request {
        Request::new("POST", self.path.clone())
            .header("user-agent", USER_AGENT)
            .header("content-type", "application/json;charset=utf-8")
            .header("x-project-id", &self.project)
            .json(&json!({"tag": {"key": "env", "value": "prod"}}))
    }

    /// `request` signed at `when` with `credentials`: every header it will send.
    fn signed_with(
        &self,
        request: Request,
        credentials: &Credentials,
        when: SystemTime,
    ) -> Result<Request, Failure> {
        let mut headers = to_map(&request)?;
        sign(credentials, &self.host, &request, &mut headers, when)?;
        Ok(Request { headers: from_map(&headers), ..request })
    }

    fn signed(&self, request: Request) -> Result<Request, Failure> {
        self.signed_with(request, &self.credentials, SystemTime::now())
    }

    /// A correct signature over exactly `names` (the SDK signs every header it has).
    fn signed_only(&self, request: Request, names: &[&str]) -> Result<Request, Failure> {
        let request = self.signed(request)?;
        let headers = to_map(&request)?;
        let mut signed: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        signed.sort();
        let (path, query) = match request.path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (request.path.as_str(), None),
        };
        let body = request.body.clone().unwrap_or_default();
        let parts = RequestParts {
            method: &request.method,
            raw_path: path,
            raw_query: query,
            headers: &headers,
            body: &body,
        };
        let algorithm = self.credentials.algorithm;
        let canonical =
            canonical_request(algorithm, &parts, &signed).map_err(|e| Failure::new(e.to_string()))?;
        let date = headers.get("x-sdk-date").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let authorization = Authorization {
            algorithm,
            access_key: self.credentials.access_key.clone(),
            scope: None,
            signature: signature(
                algorithm,
                &self.credentials.access_key,
                &self.credentials.secret_key,
                None,
                &string_to_sign(algorithm, &date, None, &canonical),
            ),
            signed_headers: signed,
        };
        Ok(replace(request, "authorization", &authorization.to_string()))
    }
}

fn to_map(request: &Request) -> Result<HeaderMap, Failure> {
    let mut map = HeaderMap::new();
    for (name, value) in &request.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| Failure::new(e.to_string()))?;
        map.insert(name, HeaderValue::from_str(value).map_err(|e| Failure::new(e.to_string()))?);
    }
    Ok(map)
}

fn from_map(map: &HeaderMap) -> Vec<(String, String)> {
    map.iter().map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned())).collect()
}

/// `request` with header `name` set to `value` (replacing it).
fn replace(mut request: Request, name: &str, value: &str) -> Request {
    request.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    request.headers.push((name.to_owned(), value.to_owned()));
    request
}

fn with_algorithm(credentials: &Credentials, algorithm: Algorithm) -> Credentials {
    let v11_scope = (algorithm == Algorithm::V11HmacSha256).then(|| {
        credentials
            .v11_scope
            .clone()
            .unwrap_or(V11Scope { region: "cn-north-4".into(), service: "ims".into() })
    });
    Credentials { algorithm, v11_scope, ..credentials.clone() }
}

/// The signer, an image of its project it may tag, and the path of op 7 on it.
async fn env(c: &Ctx) -> Result<(Who, Env), Failure> {
    let (who, credentials) = c.signer().ok_or_else(|| Failure::new("no AK/SK identity"))?;
    let image = if who == Who::Owner { c.own_image().await? } else { c.image(who, json!({})).await? };
    let env = Env {
        host: c.http.host(),
        credentials,
        project: c.project(who),
        path: v2_tags_path(c, who, &image),
        image,
    };
    Ok((who, env))
}

type Build = fn(&Env) -> Result<Request, Failure>;

/// The refused-signature table: name, rule, kind, the request.
fn refusals() -> Vec<(&'static str, &'static str, Kind, Build)> {
    vec![
        ("aksk.401.wrong_secret_key", "a signature with another SK is 401", Kind::Contract, |e| {
            e.signed_with(
                e.post(),
                &Credentials { secret_key: "not-the-secret".into(), ..e.credentials.clone() },
                SystemTime::now(),
            )
        }),
        ("aksk.401.unknown_access_key", "an unknown AK is 401", Kind::Contract, |e| {
            e.signed_with(
                e.post(),
                &Credentials { access_key: "AKUNKNOWN000000000".into(), ..e.credentials.clone() },
                SystemTime::now(),
            )
        }),
        (
            "aksk.401.x_sdk_date_16_minutes_old",
            "X-Sdk-Date more than 15 minutes old is 401",
            Kind::Contract,
            |e| e.signed_with(e.post(), &e.credentials, SystemTime::now() - 16 * MINUTE),
        ),
        (
            "aksk.401.x_sdk_date_16_minutes_ahead",
            "X-Sdk-Date more than 15 minutes ahead is 401",
            Kind::Contract,
            |e| e.signed_with(e.post(), &e.credentials, SystemTime::now() + 16 * MINUTE),
        ),
        ("aksk.401.malformed_x_sdk_date", "an X-Sdk-Date not YYYYMMDDTHHMMSSZ is 401", Kind::Contract, |e| {
            Ok(replace(e.signed(e.post())?, "x-sdk-date", "2026-11-22T14:59:05Z"))
        }),
        (
            "aksk.401.body_changed_after_signing",
            "the body is covered by the signature",
            Kind::Contract,
            |e| Ok(e.signed(e.post())?.json(&json!({"tag": {"key": "env", "value": "evil"}}))),
        ),
        (
            "aksk.401.path_changed_after_signing",
            "the path is covered by the signature",
            Kind::Contract,
            |e| {
                // Signed for op 9 on the image, sent to op 10 of the project.
                let show = Request::new("GET", e.path.clone()).header("x-project-id", &e.project);
                let mut request = e.signed(show)?;
                request.path = format!("/v2/{}/images/tags", seg(&e.project));
                Ok(request)
            },
        ),
        (
            "aksk.401.x_project_id_changed_after_signing",
            "X-Project-Id is covered by the signature",
            Kind::Contract,
            |e| Ok(replace(e.signed(e.post())?, "x-project-id", "00000000000000000000000000000000")),
        ),
        (
            "aksk.401.user_agent_changed_after_signing",
            "every signed header is covered (User-Agent)",
            Kind::Contract,
            |e| Ok(replace(e.signed(e.post())?, "user-agent", "curl/8")),
        ),
        (
            "aksk.401.content_type_changed_after_signing",
            "every signed header is covered (Content-Type)",
            Kind::Contract,
            |e| Ok(replace(e.signed(e.post())?, "content-type", "text/plain")),
        ),
        ("aksk.401.host_not_signed", "host must be signed", Kind::Contract, |e| {
            e.signed_only(e.post(), &["content-type", "user-agent", "x-project-id", "x-sdk-date"])
        }),
        ("aksk.401.x_sdk_date_not_signed", "x-sdk-date must be signed", Kind::Contract, |e| {
            e.signed_only(e.post(), &["content-type", "host", "user-agent", "x-project-id"])
        }),
        (
            "aksk.401.x_project_id_present_but_not_signed",
            "x-project-id must be signed when present",
            Kind::Contract,
            |e| e.signed_only(e.post(), &["content-type", "host", "user-agent", "x-sdk-date"]),
        ),
        ("aksk.401.malformed_authorization", "a malformed SDK Authorization is 401", Kind::Contract, |e| {
            Ok(replace(e.signed(e.post())?, "authorization", "SDK-HMAC-SHA256 Access=AK, Signature=abc"))
        }),
        ("aksk.401.unknown_algorithm", "an algorithm other than the three is 401", Kind::Contract, |e| {
            Ok(replace(
                e.signed(e.post())?,
                "authorization",
                "AWS4-HMAC-SHA256 Credential=x, SignedHeaders=host, Signature=00",
            ))
        }),
        (
            "aksk.401.unsigned_payload",
            "X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD is refused",
            Kind::Contract,
            |e| e.signed(e.post().header("x-sdk-content-sha256", "UNSIGNED-PAYLOAD")),
        ),
        (
            "aksk.401.unsigned_payload_sm3",
            "X-Sdk-Content-Sm3: UNSIGNED-PAYLOAD is refused",
            Kind::Contract,
            |e| {
                e.signed_with(
                    e.post().header("x-sdk-content-sm3", "UNSIGNED-PAYLOAD"),
                    &with_algorithm(&e.credentials, Algorithm::SdkHmacSm3),
                    SystemTime::now(),
                )
            },
        ),
        (
            "aksk.401.v11_scope_date_is_not_the_x_sdk_date_date",
            "the V11 credential date must equal the X-Sdk-Date date",
            Kind::Contract,
            |e| {
                let request = e.signed_with(
                    e.post(),
                    &with_algorithm(&e.credentials, Algorithm::V11HmacSha256),
                    SystemTime::now(),
                )?;
                let header = request
                    .headers
                    .iter()
                    .find(|(n, _)| n == "authorization")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                let mut authorization =
                    Authorization::parse(&header).map_err(|e| Failure::new(e.to_string()))?;
                if let Some(scope) = authorization.scope.as_mut() {
                    scope.date = "20000101".into();
                }
                Ok(replace(request, "authorization", &authorization.to_string()))
            },
        ),
        (
            "aksk.401.payload_hash_of_another_body",
            "an X-Sdk-Content-Sha256 that is not the body's hash is refused",
            Kind::Choice,
            |e| e.signed(e.post().header("x-sdk-content-sha256", &Algorithm::SdkHmacSha256.hash_hex(b"{}"))),
        ),
    ]
}

pub(crate) fn cases() -> Vec<Case> {
    let mut cases = vec![
        case!(
            contract,
            "aksk.sign.each_algorithm_is_accepted",
            ImsV2,
            each_algorithm,
            "SDK-HMAC-SHA256, SDK-HMAC-SM3 and V11-HMAC-SHA256 signatures work on bodies, encoded paths and queries",
            Need::AkSk,
            Need::Serves(Family::ImsV1)
        ),
        case!(
            contract,
            "aksk.sign.encoded_native_tags",
            Native,
            encoded_native,
            "a signed op 1 and op 2 with a percent-encoded tag (a%20b%2Fc~d_%C3%A9) work",
            Need::AkSk
        ),
        case!(
            contract,
            "aksk.sign.the_generated_client_signs_every_family",
            ImsV2,
            client_signs,
            "Client::with_aksk signs registry, native, IMS v1 and IMS v2 calls with each algorithm",
            Need::AkSk,
            Need::Registry,
            Need::Serves(Family::Native),
            Need::Serves(Family::ImsV1)
        ),
        case!(
            contract,
            "aksk.security_token.a_wrong_token_is_401",
            ImsV2,
            token_wrong,
            "a temporary AK with another security token is 401",
            Need::SecurityToken
        ),
        case!(
            contract,
            "aksk.security_token.no_token_is_401",
            ImsV2,
            token_missing,
            "a temporary AK without its security token is 401",
            Need::SecurityToken
        ),
        case!(
            contract,
            "aksk.security_token.must_be_signed",
            ImsV2,
            token_unsigned,
            "x-security-token must be signed when present",
            Need::SecurityToken
        ),
        case!(
            choice,
            "aksk.401.messages_say_which_check_failed",
            ImsV2,
            messages,
            "the 401 message names the failed check (signature, access key, date)",
            Need::AkSk
        ),
    ];
    for (name, rule, kind, build) in refusals() {
        let run = refusal(build);
        let case = match kind {
            Kind::Contract => Case::contract(name, Family::ImsV2, rule, run),
            Kind::Choice => Case::choice(name, Family::ImsV2, rule, run),
        };
        cases.push(case.needs(&[Need::AkSk]));
    }
    cases
}

/// The body of a refused-signature case.
fn refusal(build: Build) -> impl for<'a> Fn(&'a Ctx) -> crate::case::CaseFuture<'a> + Clone {
    move |c| Box::pin(refused(c, build))
}

/// The request `build` makes is 401 APIGW.0301 and changes nothing; the same request signed properly works.
async fn refused(c: &Ctx, build: Build) -> CaseResult {
    let (who, env) = env(c).await?;
    let request = build(&env)?;
    let r = c.anonymous(request).await?;
    r.expect_error(401, "APIGW.0301")?;
    ensure!(c.tags_as(who, &env.image).await?.is_empty(), "the refused request wrote a tag");
    let control = c.anonymous(env.signed(env.post())?).await?;
    control.expect(204).map_err(|f| f.context("the same request signed properly"))?;
    Ok(())
}

async fn each_algorithm(c: &Ctx) -> CaseResult {
    let (who, env) = env(c).await?;
    for algorithm in Algorithm::ALL {
        let credentials = with_algorithm(&env.credentials, algorithm);
        let signed = |request: Request| env.signed_with(request, &credentials, SystemTime::now());
        let name = format!("{algorithm}");
        c.anonymous(signed(env.post())?).await?.expect(204).map_err(|f| f.context(&name))?;
        let list = Request::new("GET", v2_tags_path(c, who, &env.image)).header("x-project-id", &env.project);
        c.anonymous(signed(list)?).await?.expect(200).map_err(|f| f.context(&name))?;
        let query = format!("/v1/cloudimages/tags?id={}&architecture=x86%2064&limit=10", seg(&env.image));
        let listed =
            c.anonymous(signed(Request::new("GET", query).header("x-project-id", &env.project))?).await?;
        let body = listed.expect_json(200).map_err(|f| f.context(&name))?;
        ensure_eq!(body, json!({"tags": []}), "{name}: op 4 with an escaped space in the query");
        let delete = Request::new("DELETE", format!("{}/env", env.path)).header("x-project-id", &env.project);
        c.anonymous(signed(delete)?).await?.expect(204).map_err(|f| f.context(&name))?;
    }
    Ok(())
}

async fn encoded_native(c: &Ctx) -> CaseResult {
    let (who, env) = env(c).await?;
    let tag_path = format!("/v2/images/{}/tags/a%20b%2Fc~d_%C3%A9%E9%95%9C%E5%83%8F", seg(&env.image));
    let put = Request::new("PUT", tag_path.clone())
        .header("user-agent", USER_AGENT)
        .header("x-project-id", &env.project);
    c.anonymous(env.signed(put)?).await?.expect(204)?;
    ensure_eq!(c.tags_as(who, &env.image).await?, pairs(&[("a b/c~d_é镜像", "")]), "the decoded tag");
    let delete = Request::new("DELETE", tag_path).header("x-project-id", &env.project);
    c.anonymous(env.signed(delete)?).await?.expect(204)?;
    Ok(())
}

async fn client_signs(c: &Ctx) -> CaseResult {
    let (_, env) = env(c).await?;
    for algorithm in Algorithm::ALL {
        let client = Client::with_aksk(
            &c.target.base_url,
            with_algorithm(&env.credentials, algorithm),
            Some(env.project.clone()),
        );
        let name = format!("{algorithm}");
        let mut extra = std::collections::HashMap::new();
        extra.insert(crate::target::RUN_PROPERTY.to_owned(), c.target.run_id.clone());
        let body = types::CreateImageRequest::builder()
            .name(types::CreateImageRequestName::try_from(c.unique_name("signed")).ok())
            .extra(extra);
        let image = call("glance_create_image", client.glance_create_image().body(body).send())
            .await
            .map_err(|f| f.context(&name))?;
        let result = async {
            call(
                "glance_create_tag",
                client.glance_create_tag().image_id(image.id.as_str()).tag("a b/c~d_é").send(),
            )
            .await?;
            let v1 = types::CreateOrUpdateTagsRequest::builder()
                .image_id(image.id.clone())
                .tag(Some("env.prod".try_into().map_err(|e| Failure::new(format!("{e}")))?));
            call("create_or_update_tags", client.create_or_update_tags().body(v1).send()).await?;
            let tag = types::ImsTag {
                key: "k".try_into().map_err(|e| Failure::new(format!("{e}")))?,
                value: "v".try_into().map_err(|e| Failure::new(format!("{e}")))?,
            };
            call(
                "add_image_tag",
                client
                    .add_image_tag()
                    .project_id(env.project.as_str())
                    .image_id(image.id.as_str())
                    .body(types::AddImageTagRequest { tag })
                    .send(),
            )
            .await?;
            let listed = call(
                "list_image_tags",
                client.list_image_tags().project_id(env.project.as_str()).image_id(image.id.as_str()).send(),
            )
            .await?;
            let got: Vec<(String, String)> = listed.tags.into_iter().map(|t| (t.key, t.value)).collect();
            ensure_eq!(got.len(), 3, "tags written with {algorithm}");
            let filtered =
                call("list_tags", client.list_tags().id(&image.id).architecture("x86 64").send()).await?;
            ensure!(filtered.tags.is_empty(), "a signed query with a space: {:?}", filtered.tags);
            Ok(())
        }
        .await;
        let deleted =
            call("glance_delete_image", client.glance_delete_image().image_id(image.id.as_str()).send())
                .await;
        result.map_err(|f: Failure| f.context(&name))?;
        deleted.map_err(|f| f.context(&name))?;
    }
    Ok(())
}

async fn token_case(c: &Ctx, token: Option<&str>, signed_token: bool) -> CaseResult {
    let (who, env) = env(c).await?;
    let credentials = Credentials {
        security_token: token.map(str::to_owned).filter(|_| signed_token),
        ..env.credentials.clone()
    };
    let mut request = env.signed_with(env.post(), &credentials, SystemTime::now())?;
    if !signed_token && let Some(token) = token {
        request = replace(request, "x-security-token", token);
    }
    c.anonymous(request).await?.expect_error(401, "APIGW.0301")?;
    ensure!(c.tags_as(who, &env.image).await?.is_empty(), "the refused request wrote a tag");
    Ok(())
}

async fn token_wrong(c: &Ctx) -> CaseResult {
    token_case(c, Some("not-the-token"), true).await
}

async fn token_missing(c: &Ctx) -> CaseResult {
    token_case(c, None, true).await
}

async fn token_unsigned(c: &Ctx) -> CaseResult {
    let (_, credentials) = c.signer().ok_or_else(|| Failure::new("no AK/SK identity"))?;
    let token = credentials.security_token.clone().unwrap_or_default();
    token_case(c, Some(&token), false).await
}

async fn messages(c: &Ctx) -> CaseResult {
    let (_, env) = env(c).await?;
    let table = refusals();
    for (name, word) in [
        ("aksk.401.wrong_secret_key", "signature"),
        ("aksk.401.unknown_access_key", "access key"),
        ("aksk.401.x_sdk_date_16_minutes_old", "date"),
        ("aksk.401.host_not_signed", "host"),
    ] {
        let build =
            table.iter().find(|(n, ..)| *n == name).map(|(.., b)| *b).ok_or_else(|| Failure::new(name))?;
        let r = c.anonymous(build(&env)?).await?;
        let (_, message) = r.envelope().ok_or_else(|| r.fail("no envelope"))?;
        if !message.to_lowercase().contains(word) {
            return Err(r.fail(format!("{name}: the message does not say {word:?}")));
        }
    }
    Ok(())
}

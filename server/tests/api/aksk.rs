//! AK/SK over real HTTP, where ims-tags' config is part of the test: the SDK's captured requests replayed byte
//! for byte (with the clock-skew setting stretched for their dates), temporary credentials configured with their
//! security token, the clock-skew setting, and a credential configured for two projects. The contract's AK/SK
//! cases (each algorithm, every way a signature can be wrong) are in `conformance/` (`aksk.*`).

use std::time::{Duration, SystemTime};

use ims_tags::config::{CredentialConfig, Grant, Secret};
use ims_tags_client::{Algorithm, Credentials, V11Scope};
use ims_tags_signing::{RequestToSign, sign_request};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{AK, ALL_ACTIONS, P1, P2, P3, Raw, SK, TestServer, Who};

/// The SDK's User-Agent (signed).
const USER_AGENT: &str =
    "huaweicloud-usdk-python/3.0; os/Linux#6.1#x86_64 python/3.11.7 impl/CPython; app/ims-tags-tests";

/// A temporary credential and its security token.
const TEMP_AK: &str = "AKTEMPORARY0000000";
const TEMP_SK: &str = "SKtemporary000000000000000000000000000000";
const SECURITY_TOKEN: &str = "TOKEN123";

/// A credential of P1 also scoped to P3.
const SCOPED_AK: &str = "AKSCOPED0000000000";
const SCOPED_SK: &str = "SKscoped00000000000000000000000000000000";

const MINUTE: Duration = Duration::from_secs(60);

/// The owner's credentials with `algorithm` (V11 with a region and service).
fn credentials(algorithm: Algorithm) -> Credentials {
    let v11_scope = (algorithm == Algorithm::V11HmacSha256)
        .then(|| V11Scope { region: "cn-north-4".into(), service: "ims".into() });
    Credentials { algorithm, v11_scope, ..Credentials::new(AK, SK) }
}

fn grant(projects: &[&str]) -> Grant {
    Grant {
        default_project: P1.into(),
        projects: projects.iter().map(|p| p.to_string()).collect(),
        actions: ALL_ACTIONS.iter().map(|a| a.to_string()).collect(),
    }
}

/// A request as the SDK builds it: its headers grow as it is signed.
#[derive(Clone, Debug)]
struct Req {
    method: Method,
    /// Already percent-encoded.
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: String,
}

impl Req {
    /// A request with the SDK's `User-Agent` and `Content-Type: application/json`.
    fn new(method: &str, path: impl Into<String>) -> Req {
        let mut headers = HeaderMap::new();
        headers.insert("user-agent", HeaderValue::from_static(USER_AGENT));
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        Req {
            method: Method::from_bytes(method.as_bytes()).expect("method"),
            path: path.into(),
            query: None,
            headers,
            body: String::new(),
        }
    }

    /// A JSON body, with the SDK's `Content-Type` for one.
    fn json(self, body: &Value) -> Req {
        Req { body: body.to_string(), ..self }.header("content-type", "application/json;charset=utf-8")
    }

    fn header(mut self, name: &'static str, value: &str) -> Req {
        self.headers
            .insert(HeaderName::from_static(name), HeaderValue::from_str(value).expect("header value"));
        self
    }

    fn without(mut self, name: &str) -> Req {
        self.headers.remove(name);
        self
    }

    fn project(self, project: &str) -> Req {
        self.header("x-project-id", project)
    }

    /// Signs as the SDK does, now.
    fn sign(self, s: &TestServer, credentials: &Credentials) -> Req {
        self.sign_at(s, credentials, SystemTime::now())
    }

    /// Signs as the SDK does, with `X-Sdk-Date` at `when`.
    fn sign_at(mut self, s: &TestServer, credentials: &Credentials, when: SystemTime) -> Req {
        let host = s.base.trim_start_matches("http://").to_owned();
        let request = RequestToSign {
            method: &self.method,
            host: &host,
            raw_path: &self.path,
            raw_query: self.query.as_deref(),
            body: self.body.as_bytes(),
        };
        sign_request(credentials, &request, &mut self.headers, when).expect("signed");
        self
    }

    async fn send(&self, s: &TestServer) -> Raw {
        let target = match &self.query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.clone(),
        };
        let headers: Vec<(&str, &str)> =
            self.headers.iter().map(|(n, v)| (n.as_str(), v.to_str().expect("ASCII header"))).collect();
        let body = (!self.body.is_empty()).then_some(self.body.as_str());
        s.raw(self.method.as_str(), &target, None, &headers, body).await
    }
}

/// A 401 `APIGW.0301` envelope whose message names the failed check and no secret.
#[track_caller]
fn expect_401(r: &Raw, case: &str, says: &str) {
    assert_eq!(r.status, 401, "{case}: {}", r.text);
    assert_eq!(r.code(), "APIGW.0301", "{case}: {}", r.text);
    assert!(r.headers.contains_key("x-request-id"), "{case}: every response carries X-Request-Id");
    let message = r.json()["error"]["message"].as_str().expect("message").to_lowercase();
    assert!(message.contains(&says.to_lowercase()), "{case}: the message should say {says:?}: {message}");
    for secret in [SK, TEMP_SK, SCOPED_SK, SECURITY_TOKEN, "not-the-secret"] {
        assert!(!r.text.contains(secret), "{case}: a secret in the response: {}", r.text);
    }
}

/// The SDK requests of the wire contract (sections 6.3 and 7), replayed exactly: same headers, same `Host`, same
/// dates (the server allows for their age here), same signatures.
#[tokio::test]
async fn the_sdk_requests_of_the_wire_contract_replay_over_http() {
    let s = TestServer::start_with(|c| c.auth.max_clock_skew_secs = Some(20 * 365 * 24 * 3600)).await;
    let image = "4d2c0b0e-1111-2222-3333-444455556666";
    s.image(Who::Owner, json!({"id": image, "name": "my image"})).await;
    let ua = "huaweicloud-usdk-python/3.0; os/Linux##1_SMP_PREEMPT_DYNAMIC_@0#x86_64 python/3.11.7 impl/CPython; \
              app/1e75e6c7-c426-4b27-ba73-c1f848dde35a";
    let captured = |method: &str, path: &str, content_type: &str, body: &str, signature: &str| {
        let authorization = format!(
            "SDK-HMAC-SHA256 Access={AK}, SignedHeaders=content-type;host;user-agent;x-project-id;x-sdk-date, \
             Signature={signature}"
        );
        let mut req = Req::new(method, path)
            .header("user-agent", ua)
            .header("content-type", content_type)
            .project(P1)
            .header("x-sdk-date", "20261122T145905Z")
            .header("host", "127.0.0.1:18080")
            .header("authorization", &authorization);
        req.body = body.to_owned();
        req
    };
    let vector =
        |method: &str, path: &str, query: Option<&str>, body: &str, content_type: &str, signature: &str| {
            let authorization = format!(
                "SDK-HMAC-SHA256 Access={AK}, SignedHeaders=content-type;host;x-project-id;x-sdk-date, \
             Signature={signature}"
            );
            let mut req = Req::new(method, path)
                .without("user-agent")
                .header("content-type", content_type)
                .project(P1)
                .header("x-sdk-date", "20240101T000000Z")
                .header("host", "127.0.0.1:8080")
                .header("authorization", &authorization);
            req.body = body.to_owned();
            req.query = query.map(str::to_owned);
            req
        };
    let json = "application/json";
    let json_utf8 = "application/json;charset=utf-8";
    let sig_create = "100c8e97e17a875601fca74d6c53eae57892f1082937143d13b0d3db93e8d86f";
    let sig_encoded = "8ab7b86db612119ace79ac7ccce4e1d6ea05ff320c20ef4d8e8361bb5688f4e2";
    let sig_delete = "60179e441c872c44864ced2cd3edd6f723861d4a3c5ab5642da632a96ea5d2d8";
    let sig_v1 = "a1148b572d993caf3b6b87f4360093b94fba5a64039233eeafebd1e99c889953";
    let v1_body = format!("{{\"image_id\": \"{image}\", \"tag\": \"env.prod\"}}");
    for (label, req, status) in [
        (
            "captured glance_create_tag",
            captured("PUT", &format!("/v2/images/{image}/tags/mytag"), json, "", sig_create),
            204,
        ),
        (
            "captured glance_create_tag a%20b%2Fc~d_%C3%A9",
            captured("PUT", &format!("/v2/images/{image}/tags/a%20b%2Fc~d_%C3%A9"), json, "", sig_encoded),
            204,
        ),
        (
            "captured glance_delete_tag",
            captured("DELETE", &format!("/v2/images/{image}/tags/mytag"), json, "", sig_delete),
            204,
        ),
        (
            "captured create_or_update_tags",
            captured("PUT", "/v1/cloudimages/tags", json_utf8, &v1_body, sig_v1),
            204,
        ),
    ] {
        let r = req.send(&s).await;
        assert_eq!(r.status, status, "{label}: {}", r.text);
    }
    assert_eq!(s.string_tags(image.parse().expect("uuid")).await, vec!["a b/c~d_é", "env=prod"]);

    s.raw("PUT", &format!("/v2/images/{image}/tags/my%20key"), Some(Who::Owner), &[], None).await;
    let v2_path = format!("/v2/{P1}/images/{image}/tags");
    let v2_body = "{\"tag\": {\"key\": \"env\", \"value\": \"prod\"}}";
    let sig_1 = "3a6c48447e609484b8e5c5476770eb9f9be3e8010a0b6c8c3c1970ad04626bce";
    let sig_2 = "4cc5fe34c79caaaa37ec470ef206ba3efcb715895b3d8f267e6426b9caf07ba7";
    let sig_3 = "a93b52bcba9328784698f380ce6b09b8e478836975d7050132a693a08fe0d8cd";
    let r = vector("POST", &v2_path, None, v2_body, json_utf8, sig_2).send(&s).await;
    assert_eq!(r.status, 204, "vector 2: {}", r.text);
    let r = vector("DELETE", &format!("{v2_path}/my%20key"), None, "", json, sig_3).send(&s).await;
    assert_eq!(r.status, 204, "vector 3: {}", r.text);
    let query = "__imagetype=private&limit=10&name=my%20image&page=1";
    let r = vector("GET", "/v1/cloudimages/tags", Some(query), "", json, sig_1).send(&s).await;
    assert_eq!(r.status, 200, "vector 1: {}", r.text);
    assert_eq!(r.json()["tags"], json!(["a b/c~d_é", "env=prod"]));

    // One byte of difference and the same captured request is refused.
    let r = captured("PUT", &format!("/v2/images/{image}/tags/mytah"), json, "", sig_create).send(&s).await;
    expect_401(&r, "a captured signature on another path", "signature");
}

#[tokio::test]
async fn a_temporary_credential_needs_its_own_security_token() {
    let s = TestServer::start_with(|c| {
        c.auth.credentials.push(CredentialConfig {
            access_key: TEMP_AK.into(),
            secret_key: Secret::new(TEMP_SK),
            security_token: Some(Secret::new(SECURITY_TOKEN)),
            grant: grant(&[]),
        })
    })
    .await;
    let temporary = |token: Option<&str>| Credentials {
        security_token: token.map(str::to_owned),
        ..Credentials::new(TEMP_AK, TEMP_SK)
    };
    let list = || Req::new("GET", "/v1/cloudimages/tags").project(P1);
    let r = list().sign(&s, &temporary(Some(SECURITY_TOKEN))).send(&s).await;
    assert_eq!(r.status, 200, "the right token: {}", r.text);
    let signed = list().sign(&s, &temporary(Some(SECURITY_TOKEN)));
    assert!(signed.headers["authorization"].to_str().expect("text").contains("x-security-token"), "signed");

    expect_401(
        &list().sign(&s, &temporary(Some("TOKEN124"))).send(&s).await,
        "a wrong token",
        "security token",
    );
    expect_401(&list().sign(&s, &temporary(None)).send(&s).await, "no token", "security token");
    let permanent = Credentials { security_token: Some(SECURITY_TOKEN.into()), ..Credentials::new(AK, SK) };
    expect_401(&list().sign(&s, &permanent).send(&s).await, "a permanent AK with a token", "security token");
    let unsigned = list().sign(&s, &temporary(None)).header("x-security-token", SECURITY_TOKEN);
    expect_401(&unsigned.send(&s).await, "a token added after signing", "x-security-token");
}

#[tokio::test]
async fn the_allowed_clock_skew_is_a_setting() {
    let s = TestServer::start().await;
    let c = credentials(Algorithm::SdkHmacSha256);
    let list = || Req::new("GET", "/v1/cloudimages/tags").project(P1);
    let now = SystemTime::now();
    for when in [now - 14 * MINUTE, now + 14 * MINUTE] {
        assert_eq!(list().sign_at(&s, &c, when).send(&s).await.status, 200, "within the default 15 minutes");
    }

    let s = TestServer::start_with(|c| c.auth.max_clock_skew_secs = Some(60)).await;
    let now = SystemTime::now();
    assert_eq!(list().sign_at(&s, &c, now - Duration::from_secs(30)).send(&s).await.status, 200);
    expect_401(
        &list().sign_at(&s, &c, now - 2 * MINUTE).send(&s).await,
        "2 minutes old, 60 s allowed",
        "date",
    );
    expect_401(
        &list().sign_at(&s, &c, now + 2 * MINUTE).send(&s).await,
        "2 minutes ahead, 60 s allowed",
        "date",
    );
}

#[tokio::test]
async fn the_project_of_ops_1_to_4_comes_from_the_signed_x_project_id() {
    let s = TestServer::start_with(|c| {
        c.auth.credentials.push(CredentialConfig {
            access_key: SCOPED_AK.into(),
            secret_key: Secret::new(SCOPED_SK),
            security_token: None,
            grant: grant(&[P3]),
        })
    })
    .await;
    let c = Credentials::new(SCOPED_AK, SCOPED_SK);
    let p1_image = s.image(Who::Owner, json!({"tags": ["p1tag"]})).await;
    let body = json!({"tags": ["p3tag"]}).to_string();
    let r = s.raw("POST", "/v2/images", Some(Who::Owner), &[("x-project-id", P3)], Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["owner"], P3);
    let p3_image: Uuid = r.json()["id"].as_str().expect("id").parse().expect("uuid");

    // Op 1 on P3's image: only as P3.
    let op1 = |image: Uuid| Req::new("PUT", format!("/v2/images/{image}/tags/new"));
    assert_eq!(op1(p3_image).project(P3).sign(&s, &c).send(&s).await.status, 204);
    for req in [op1(p3_image).project(P1), op1(p3_image)] {
        req.sign(&s, &c).send(&s).await.expect_error(404, "IMG.0144");
    }
    assert_eq!(op1(p1_image).sign(&s, &c).send(&s).await.status, 204, "the default project is P1");
    // Op 2.
    let op2 = Req::new("DELETE", format!("/v2/images/{p3_image}/tags/new"));
    op2.clone().project(P1).sign(&s, &c).send(&s).await.expect_error(404, "IMG.0144");
    assert_eq!(op2.project(P3).sign(&s, &c).send(&s).await.status, 204);
    // Op 3.
    let op3 = Req::new("PUT", "/v1/cloudimages/tags").json(&json!({"image_id": p3_image, "tag": "k.v"}));
    op3.clone().project(P1).sign(&s, &c).send(&s).await.expect_error(404, "IMG.0144");
    assert_eq!(op3.clone().project(P3).sign(&s, &c).send(&s).await.status, 204);
    // Op 4.
    let op4 = Req::new("GET", "/v1/cloudimages/tags");
    for (req, tags) in [
        (op4.clone().project(P3), json!(["k=v", "p3tag"])),
        (op4.clone().project(P1), json!(["new", "p1tag"])),
        (op4.clone(), json!(["new", "p1tag"])),
    ] {
        let r = req.sign(&s, &c).send(&s).await;
        assert_eq!((r.status, r.json()["tags"].clone()), (200, tags), "{}", r.text);
    }

    // A signed X-Project-Id outside the credential's scope, and one that contradicts the path.
    for req in [op1(p1_image), op2_for(p1_image), op3.clone(), op4.clone()] {
        let r = req.project(P2).sign(&s, &c).send(&s).await;
        r.expect_error(403, "IMG.0026");
    }
    let op9 = Req::new("GET", format!("/v2/{P1}/images/{p1_image}/tags"));
    op9.clone().project(P3).sign(&s, &c).send(&s).await.expect_error(403, "IMG.0026");
    assert_eq!(op9.project(P1).sign(&s, &c).send(&s).await.status, 200);
    // The harness AK is scoped to P1 alone.
    let r = Req::new("GET", "/v1/cloudimages/tags")
        .project(P3)
        .sign(&s, &credentials(Algorithm::SdkHmacSm3))
        .send(&s)
        .await;
    r.expect_error(403, "IMG.0026");
    assert_eq!(s.string_tags(p1_image).await, vec!["new", "p1tag"], "the refused writes changed nothing");
}

fn op2_for(image: Uuid) -> Req {
    Req::new("DELETE", format!("/v2/images/{image}/tags/p1tag"))
}

//! The OpenAPI document: checked in and current, served, well-formed for clients, with Swagger UI offline.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::harness::TestServer;

fn checked_in(name: &str) -> (String, Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value = serde_json::from_str(&text).expect("JSON");
    (text, value)
}

/// Fails when a handler's annotations changed without `cargo run -p ims-tags -- openapi`.
#[test]
fn the_checked_in_documents_are_current() {
    let (emitted, projected) = ims_tags::spec::documents();
    let (file, _) = checked_in(ims_tags::spec::OPENAPI_FILE);
    assert!(file == emitted, "openapi/ims-tags.json is stale: run `cargo run -p ims-tags -- openapi`");
    let (file, _) = checked_in(ims_tags::spec::OPENAPI_3_0_FILE);
    assert!(file == projected, "openapi/ims-tags-3.0.json is stale: run `cargo run -p ims-tags -- openapi`");
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            out.push((method.to_uppercase(), path.clone(), operation.clone()));
        }
    }
    out
}

#[test]
fn every_operation_has_a_snake_case_id_one_tag_a_summary_and_the_error_envelope() {
    let (_, doc) = checked_in(ims_tags::spec::OPENAPI_FILE);
    let declared_tags: BTreeSet<String> = doc["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| t["name"].as_str().expect("name").to_owned())
        .collect();
    let mut ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(
            id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !id.starts_with('_'),
            "{id} is not snake_case"
        );
        assert!(ids.insert(id.to_owned()), "{id} is used twice");
        let tags = op["tags"].as_array().unwrap_or_else(|| panic!("{id} has no tags"));
        assert_eq!(tags.len(), 1, "{id} has exactly one tag");
        assert!(
            declared_tags.contains(tags[0].as_str().expect("tag")),
            "{id}'s tag is declared with a description"
        );
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{id} has a summary");
        let responses = op["responses"].as_object().expect("responses");
        let mut successes = 0;
        for (status, response) in responses {
            assert!(
                response["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{id} {status} has a description"
            );
            let code: u16 = status.parse().expect("numeric status");
            if code >= 400 {
                let content = &response["content"]["application/json"];
                assert_eq!(
                    content["schema"]["$ref"], "#/components/schemas/ErrorResponse",
                    "{id} {status} uses the error envelope"
                );
                let examples =
                    content["examples"].as_object().unwrap_or_else(|| panic!("{id} {status} examples"));
                assert!(!examples.is_empty(), "{id} {status} has examples");
                for (name, example) in examples {
                    let error = &example["value"]["error"];
                    let code =
                        error["code"].as_str().unwrap_or_else(|| panic!("{id} {status} {name}: a code"));
                    assert!(
                        error["message"].as_str().is_some_and(|m| !m.is_empty()),
                        "{id} {name}: a message"
                    );
                    assert!(name.starts_with(code), "{id} {status}: the example {name} is named by its code");
                    assert!(
                        response["description"].as_str().is_some_and(|d| d.contains(&format!("`{code}`"))),
                        "{id} {status}: the description names {code}"
                    );
                }
            } else {
                successes += 1;
            }
        }
        assert_eq!(successes, 1, "{id} has one success response");
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        assert!(op["security"].is_array(), "{id} says whether it is secured (`security: []` when public)");
        assert!(responses.contains_key("503"), "{id} declares the time limit's 503");
        let parameters = op["parameters"].as_array().map(Vec::as_slice).unwrap_or_default();
        let project_header = parameters.iter().any(|p| p["name"] == "X-Project-Id" && p["in"] == "header");
        assert_eq!(project_header, secured, "{id} declares X-Project-Id exactly when it is secured");
        for status in ["401", "403", "500"] {
            assert_eq!(
                responses.contains_key(status),
                secured,
                "{id} declares {status} exactly when secured"
            );
        }
        let has_body = op.get("requestBody").is_some();
        if has_body {
            assert!(responses.contains_key("413"), "{id} takes a body and declares 413");
        }
        if op["parameters"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["in"] == "path" && p["name"] == "image_id"))
        {
            assert!(responses.contains_key("404"), "{id} names an image and declares 404");
        }
        let read_only = ["get", "head"].contains(&method.to_lowercase().as_str());
        if read_only {
            assert!(!responses.contains_key("413"), "{id} reads and declares no 413");
            let quota = serde_json::to_string(responses).expect("text").contains("IMG.0116");
            assert!(!quota, "{id} reads and declares no quota error");
        }
    }
    assert!(ids.len() >= 19, "{ids:?}");
}

#[test]
fn request_schemas_carry_the_contract_limits() {
    let (_, doc) = checked_in(ims_tags::spec::OPENAPI_FILE);
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["ImsTag"]["properties"]["key"]["maxLength"], 36);
    assert_eq!(schemas["ImsTag"]["properties"]["key"]["minLength"], 1);
    assert_eq!(schemas["ImsTag"]["properties"]["value"]["maxLength"], 43);
    assert_eq!(schemas["TagsFilter"]["properties"]["values"]["maxItems"], 10);
    assert_eq!(schemas["ListImageByTagsRequest"]["properties"]["tags"]["maxItems"], 10);
    assert_eq!(schemas["QueryAction"]["enum"], serde_json::json!(["filter", "count"]));
    assert_eq!(schemas["BatchAction"]["enum"], serde_json::json!(["create", "delete"]));
    assert_eq!(schemas["ErrorResponse"]["required"], serde_json::json!(["error"]));
}

#[test]
fn the_3_0_projection_has_no_3_1_constructs() {
    let (text, doc) = checked_in(ims_tags::spec::OPENAPI_3_0_FILE);
    assert_eq!(doc["openapi"], "3.0.3");
    assert!(!text.contains("\"null\""), "no null types remain");
    assert_eq!(doc["servers"][0]["url"], "/");
    assert!(doc["info"]["license"]["name"].is_string());
    let (_, emitted) = checked_in(ims_tags::spec::OPENAPI_FILE);
    assert_eq!(doc["paths"].as_object().map(|p| p.len()), emitted["paths"].as_object().map(|p| p.len()));
}

#[tokio::test]
async fn the_server_serves_both_documents_and_swagger_ui() {
    let s = TestServer::start().await;
    let (_, emitted) = checked_in(ims_tags::spec::OPENAPI_FILE);
    let (_, projected) = checked_in(ims_tags::spec::OPENAPI_3_0_FILE);
    let served = s.raw("GET", "/openapi.json", None, &[], None).await;
    assert_eq!(served.status, 200);
    assert_eq!(served.json(), emitted);
    assert_eq!(s.raw("GET", "/openapi-3.0.json", None, &[], None).await.json(), projected);
    let ui = s.raw("GET", "/swagger-ui/", None, &[], None).await;
    assert_eq!(ui.status, 200);
    assert!(ui.text.contains("swagger-ui"), "the vendored Swagger UI page");
    let init = s.raw("GET", "/swagger-ui/swagger-initializer.js", None, &[], None).await;
    assert_eq!(init.status, 200);
    assert!(init.text.contains("/openapi.json"), "the UI loads the served document");
    let bundle = s.raw("GET", "/swagger-ui/swagger-ui-bundle.js", None, &[], None).await;
    assert_eq!(bundle.status, 200, "assets are served locally, not from a CDN");
    assert!(!ui.text.contains("https://"), "no remote assets in the page");
}

/// Swagger UI offers an input box for `apiKey`, `basic` and `bearer` schemes only: the AK/SK scheme is an HTTP
/// scheme named after the signature algorithm, so no one pastes a value there and sends a broken signature
/// next to a valid token; its description says how a signature is made. Public operations need nothing.
#[test]
fn the_aksk_scheme_is_described_and_not_pasteable() {
    let (_, doc) = checked_in(ims_tags::spec::OPENAPI_FILE);
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["token"]["type"], "apiKey");
    assert_eq!(schemes["token"]["name"], "X-Auth-Token");
    assert_eq!(schemes["aksk"]["type"], "http");
    let scheme = schemes["aksk"]["scheme"].as_str().expect("scheme").to_lowercase();
    assert!(!["basic", "bearer"].contains(&scheme.as_str()), "{scheme}");
    let description = schemes["aksk"]["description"].as_str().expect("description");
    for needed in ["SDK-HMAC-SHA256", "SDK-HMAC-SM3", "V11-HMAC-SHA256", "with_aksk", "not a value to paste"]
    {
        assert!(description.contains(needed), "the AK/SK description mentions {needed}");
    }
    assert_eq!(doc["info"]["license"]["name"], "Apache-2.0");
    for path in ["/", "/versions", "/v2/schemas/image", "/v2/schemas/images"] {
        assert_eq!(doc["paths"][path]["get"]["security"], serde_json::json!([]), "{path} is public");
    }
}

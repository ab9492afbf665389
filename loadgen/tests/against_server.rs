//! The generator against a real ims-tags on 127.0.0.1: the server accepts its token and AK/SK-signed
//! requests (with and without a body), and a wrong secret key shows up as errors, not as throughput.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use ims_tags::config::{AuthConfig, Config, CredentialConfig, Grant, Secret, TokenConfig};
use ims_tags::server::Server;
use ims_tags_load::{Auth, LoadPlan, Outcome, RequestShape, SeededImages, Target, run};
use ims_tags_signing::Credentials;

const PROJECT: &str = "p0";
const TOKEN: &str = "load-token";
const AK: &str = "LOADACCESSKEY0000000";
const SK: &str = "LOADSECRETKEY00000000000000000000000000";

fn config(dir: &std::path::Path) -> Config {
    let grant = Grant { default_project: PROJECT.into(), projects: Vec::new(), actions: vec!["*".into()] };
    Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        data_dir: dir.to_path_buf(),
        auth: AuthConfig {
            max_clock_skew_secs: None,
            tokens: vec![TokenConfig {
                name: "load".into(),
                token: Secret::new(TOKEN),
                grant: grant.clone(),
            }],
            credentials: vec![CredentialConfig {
                access_key: AK.into(),
                secret_key: Secret::new(SK),
                security_token: None,
                grant,
            }],
        },
        ..Config::default()
    }
}

async fn load(server: &Server, method: &str, path: &str, body: &str, auth: Auth) -> Outcome {
    let shape = RequestShape::new(method, path, body.to_owned(), auth, None).expect("valid shape");
    let plan = LoadPlan {
        targets: vec![Target::from_url(&format!("http://{}", server.addr)).expect("valid URL")],
        connections: 2,
        threads: 2,
        duration: Duration::from_millis(300),
        shape: Arc::new(shape),
        images: SeededImages { images: 1, projects: 1 },
        seed: 7,
    };
    let run = tokio::task::spawn_blocking(move || run(&plan));
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the run ends on time")
        .expect("the run ends")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_accepts_token_and_signed_load_and_refuses_a_wrong_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&config(dir.path())).await.expect("server starts");
    let token = || Auth::Token(HeaderValue::from_static(TOKEN));
    let signed = |sk: &str| Auth::AkSk(Credentials::new(AK, sk));
    let count = r#"{"action": "count", "tags": [{"key": "env", "values": ["prod"]}]}"#;

    let runs = [
        ("ceiling", load(&server, "GET", "/versions", "", Auth::None).await),
        ("token op 10", load(&server, "GET", "/v2/p0/images/tags", "", token()).await),
        ("signed op 10", load(&server, "GET", "/v2/p0/images/tags", "", signed(SK)).await),
        (
            "signed op 5 count",
            load(&server, "POST", "/v2/p0/images/resource_instances/action", count, signed(SK)).await,
        ),
    ];
    for (name, outcome) in &runs {
        assert!(outcome.requests > 0, "{name}: no answer in 300 ms");
        assert_eq!(outcome.errors, 0, "{name}: {:?}", outcome.first_error);
        assert_eq!(outcome.latency.len(), outcome.requests, "{name}: every answer's latency is recorded");
    }

    let refused = load(&server, "GET", "/v2/p0/images/tags", "", signed("not-the-secret-key")).await;
    assert!(refused.requests > 0);
    assert_eq!(refused.errors, refused.requests, "every answer is a refusal");
    let first = refused.first_error.expect("the first refusal is kept");
    assert!(first.starts_with("HTTP 401"), "{first}");
    server.stop().await.expect("server stops");
}

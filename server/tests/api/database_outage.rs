//! Issue 8: a replica whose PostgreSQL goes away answers 503 `IMG.0503` with `Retry-After` (retryable,
//! in the envelope), never hangs or 500s, and serves again once the database is back, without a restart.
//! The database "goes away" behind a TCP proxy the test controls; SQLite has no server to lose, so on SQLite
//! the test has nothing to do.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ims_tags::config::Secret;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::harness::{P1, TestServer, Who, fresh_postgres_url, postgres_admin_url};

/// A TCP proxy to PostgreSQL that can cut every connection and refuse new ones, then let them through again.
struct Proxy {
    port: u16,
    state: Arc<Mutex<ProxyState>>,
    accept: JoinHandle<()>,
}

#[derive(Default)]
struct ProxyState {
    up: bool,
    links: Vec<JoinHandle<()>>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let port = listener.local_addr().expect("address").port();
        let state = Arc::new(Mutex::new(ProxyState { up: true, links: Vec::new() }));
        let shared = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !shared.lock().expect("lock").up {
                    continue; // dropped: the connection is closed at once
                }
                let upstream = upstream.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                shared.lock().expect("lock").links.push(link);
            }
        });
        Proxy { port, state, accept }
    }

    /// Closes every open connection and refuses new ones.
    fn cut(&self) {
        let mut state = self.state.lock().expect("lock");
        state.up = false;
        state.links.drain(..).for_each(|link| link.abort());
    }

    fn restore(&self) {
        self.state.lock().expect("lock").up = true;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_answers_503_while_the_database_is_away_and_serves_again_after() {
    let Some(admin) = postgres_admin_url() else {
        println!("SQLite: no database server to lose");
        return;
    };
    let url = fresh_postgres_url(&admin).await;
    let config: tokio_postgres::Config = url.parse().expect("URL");
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let proxy = Proxy::start(format!("127.0.0.1:{port}")).await;
    let through_proxy = url.replacen(&format!(":{port}/"), &format!(":{}/", proxy.port), 1);
    assert_ne!(through_proxy, url, "the URL names the cluster's port");
    let s = TestServer::start_with(|c| c.database_url = Some(Secret::new(through_proxy))).await;

    let image = s.p1_image().await;
    let tag = |key: &str| json!({"tag": {"key": key, "value": "v"}}).to_string();
    let add = |key: &'static str| {
        let s = &s;
        async move {
            s.raw("POST", &format!("/v2/{P1}/images/{image}/tags"), Some(Who::Owner), &[], Some(&tag(key)))
                .await
        }
    };
    assert_eq!(add("before").await.status, 204);

    let ready = |s: &TestServer| {
        let base = s.base.clone();
        async move { reqwest::get(format!("{base}/readyz")).await.expect("answered").status().as_u16() }
    };
    assert_eq!(ready(&s).await, 200, "ready while the database answers");

    proxy.cut();
    assert_eq!(ready(&s).await, 503, "/readyz follows the database down");
    for _ in 0..3 {
        let started = Instant::now();
        for r in [
            add("during").await,
            s.raw("GET", &format!("/v2/{P1}/images/{image}/tags"), Some(Who::Owner), &[], None).await,
            s.raw("GET", "/v2/images", Some(Who::Owner), &[], None).await,
        ] {
            r.expect_error(503, "IMG.0503");
            assert_eq!(r.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"), "{}", r.text);
        }
        assert!(started.elapsed() < Duration::from_secs(20), "answered without waiting for the database");
    }

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = add("after").await;
        if r.status == 204 {
            break;
        }
        r.expect_error(503, "IMG.0503");
        assert!(Instant::now() < deadline, "the replica serves again within 20 s of the database's return");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(ready(&s).await, 200, "/readyz follows the database back up, without a restart");
    assert_eq!(
        s.tags(image).await,
        vec![("after".to_owned(), "v".to_owned()), ("before".to_owned(), "v".to_owned())],
        "what was acknowledged is there, what was refused is not"
    );
}

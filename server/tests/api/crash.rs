//! Issue 7 item 6, issue 8: acknowledged writes survive the process being killed. The real binary serves a
//! database while concurrent clients write; it is killed with SIGKILL mid-load and restarted on the same
//! database, ten times, and every write that was acknowledged (2xx) before a kill must be there afterwards.
//! On SQLite one process serves the data directory; on PostgreSQL (`IMS_TAGS_TEST_POSTGRES`) two replicas
//! serve one database, the clients are spread over both, and each round kills one of them while the other
//! keeps writing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use uuid::Uuid;

use crate::harness::{fresh_postgres_url, postgres_admin_url};

const TOKEN: &str = "crash-test-token";
const PROJECT: &str = "crash-project";

/// The binary, serving `dir` on a port of its choosing.
struct Process {
    child: Child,
    base: String,
}

/// Starts the binary with a config file in `dir` (SQLite under `dir`, or the PostgreSQL database at
/// `database_url`) and waits for its start-up line to learn the address.
async fn start(dir: &Path, database_url: Option<&str>) -> Process {
    let config = dir.join("config.toml");
    let database = database_url.map(|url| format!("database_url = {url:?}\n")).unwrap_or_default();
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {data:?}\n{database}\n[[auth.tokens]]\nname = \"writer\"\n\
             token = \"{TOKEN}\"\ndefault_project = \"{PROJECT}\"\nactions = [\"*\"]\n",
            data = dir.join("data")
        ),
    )
    .expect("config written");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ims-tags"))
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let base = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("stdout is readable") {
            if let Some(address) = line.split("is running on ").nth(1) {
                return address.trim().to_owned();
            }
        }
        panic!("the server exited before it was ready");
    })
    .await
    .expect("the server is ready within 60 s");
    // Keep reading what the server prints, so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Process { child, base }
}

/// What the clients saw acknowledged: created images, and the tag written on each after its creation.
#[derive(Default)]
struct Acknowledged {
    images: BTreeSet<Uuid>,
    tags: BTreeMap<Uuid, String>,
}

/// One client: creates an image, then tags it, again and again, recording every 2xx, until a request fails
/// (the server is gone) or `stop` is set.
async fn write_until_killed(
    base: String,
    client: usize,
    acknowledged: Arc<Mutex<Acknowledged>>,
    stop: Arc<AtomicBool>,
) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let id = Uuid::new_v4();
        let create = http
            .post(format!("{base}/v2/images"))
            .header("x-auth-token", TOKEN)
            .body(json!({"id": id, "name": format!("c{client}-{n}")}).to_string())
            .send()
            .await;
        match create {
            Ok(r) if r.status().is_success() => acknowledged.lock().expect("lock").images.insert(id),
            _ => return,
        };
        let value = format!("v{n}");
        let tag = http
            .post(format!("{base}/v2/{PROJECT}/images/{id}/tags"))
            .header("x-auth-token", TOKEN)
            .body(json!({"tag": {"key": "k", "value": value}}).to_string())
            .send()
            .await;
        match tag {
            Ok(r) if r.status().is_success() => acknowledged.lock().expect("lock").tags.insert(id, value),
            _ => return,
        };
    }
}

/// Every image of the project with its `k` tag, read page by page through `GET /v2/images`.
async fn stored(base: &str) -> BTreeMap<Uuid, Option<String>> {
    let http = reqwest::Client::new();
    let mut found = BTreeMap::new();
    let mut next = "/v2/images?limit=1000".to_owned();
    loop {
        let page: Value = http
            .get(format!("{base}{next}"))
            .header("x-auth-token", TOKEN)
            .send()
            .await
            .expect("listed")
            .json()
            .await
            .expect("JSON");
        for image in page["images"].as_array().expect("images") {
            let id = image["id"].as_str().and_then(|id| id.parse().ok()).expect("id");
            let tag = image["tags"]
                .as_array()
                .expect("tags")
                .iter()
                .find_map(|t| t.as_str().and_then(|t| t.strip_prefix("k=")).map(str::to_owned));
            found.insert(id, tag);
        }
        match page["next"].as_str() {
            Some(link) => next = link.to_owned(),
            None => return found,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let database_url = match postgres_admin_url() {
        Some(admin) => Some(fresh_postgres_url(&admin).await),
        None => None,
    };
    let replica_count = if database_url.is_some() { 2 } else { 1 };
    let dirs: Vec<_> = (0..replica_count).map(|_| tempfile::tempdir().expect("temp dir")).collect();
    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let mut replicas = Vec::new();
    for dir in &dirs {
        replicas.push(start(dir.path(), database_url.as_deref()).await);
    }
    for round in 0..10u64 {
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..8)
            .map(|client| {
                let base = replicas[client % replica_count].base.clone();
                tokio::spawn(write_until_killed(base, client, acknowledged.clone(), stop.clone()))
            })
            .collect();
        // Kill at a different point of the load each round, each replica in turn; the others keep writing a
        // little longer, then every client stops.
        tokio::time::sleep(Duration::from_millis(300 + 70 * round)).await;
        let killed = usize::try_from(round).expect("small") % replica_count;
        replicas[killed].child.start_kill().expect("SIGKILL sent");
        replicas[killed].child.wait().await.expect("the process is gone");
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.store(true, Ordering::Relaxed);
        for client in clients {
            client.await.expect("client");
        }
        replicas[killed] = start(dirs[killed].path(), database_url.as_deref()).await;
        let stored = stored(&replicas[killed].base).await;
        let acknowledged = acknowledged.lock().expect("lock");
        let lost_images: Vec<_> = acknowledged.images.iter().filter(|id| !stored.contains_key(id)).collect();
        let lost_tags: Vec<_> = acknowledged
            .tags
            .iter()
            .filter(|(id, value)| stored.get(id).and_then(Option::as_ref) != Some(value))
            .collect();
        println!(
            "round {round} (replica {killed} of {replica_count} killed): {} images and {} tags acknowledged so \
             far, {} stored",
            acknowledged.images.len(),
            acknowledged.tags.len(),
            stored.len()
        );
        assert!(lost_images.is_empty() && lost_tags.is_empty(), "lost {lost_images:?} {lost_tags:?}");
    }
    let acknowledged = acknowledged.lock().expect("lock");
    assert!(acknowledged.images.len() >= 10, "writes were acknowledged");
    for mut replica in replicas {
        replica.child.start_kill().expect("stopped");
    }
}

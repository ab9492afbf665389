//! The in-process cost of serving one request through the whole layer stack (request id, observation,
//! trace span, envelope, host check, timeout, body guard, authentication, router, handler, store), without
//! sockets, hyper or the kernel: the process's CPU time (every thread: the SQLite reads run on the blocking
//! pool) per request, for the ceiling request and the point reads, token-authenticated and AK/SK-signed.
//!
//! CPU time rather than wall time, on one runtime thread, so that other work on a shared machine barely moves
//! the figures (it still costs some: caches, migrations between cores).
//!
//! ```sh
//! cargo bench -p ims-tags --bench stack                          # a fresh 20,000-image database
//! cargo bench -p ims-tags --bench stack -- --data-dir target/bench/1000000-10/run --images 1000000
//! ```
//!
//! Options: `--data-dir DIR` (a database seeded by `ims-tags seed` over projects `p0`..`p9`, as
//! `scripts/bench` makes; it is only read), `--images N` (how many it holds), `--requests N` (per
//! shape and round, default 20,000), `--concurrency N` (requests in flight at once, default 64, as the
//! benchmark's connections: with one at a time every read waits alone for a thread of the blocking pool to
//! wake up, which costs more than the read), `--rounds N` (default 3; each round runs every shape once, and
//! the lowest figure of each shape is printed at the end), `--only TEXT` (the shapes whose name holds it).

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{HeaderValue, Request};
use futures::StreamExt;
use http_body_util::BodyExt;
use ims_tags::config::{AuthConfig, Config, CredentialConfig, Grant, Secret, TokenConfig};
use ims_tags::ops::logging::{self, LogFormat};
use ims_tags::seed::SeedPlan;
use ims_tags_load::{Auth, RequestShape, SeededImages};
use ims_tags_signing::Credentials;
use rustix::time::{ClockId, clock_gettime};

const TOKEN: &str = "bench-token";
const ACCESS_KEY: &str = "BENCHACCESSKEY000000";
const SECRET_KEY: &str = "BENCHSECRETKEY00000000000000000000000000";
const PROJECTS: u64 = 10;
const IMAGE_PATH: &str = "/v2/p0/images/00000000-0000-4000-8000-%012x/tags";
const SHOW_PATH: &str = "/v2/images/00000000-0000-4000-8000-%012x";

struct Options {
    data_dir: Option<PathBuf>,
    images: u64,
    requests: usize,
    rounds: usize,
    concurrency: usize,
    only: Option<String>,
}

fn options() -> Options {
    let mut options =
        Options { data_dir: None, images: 20_000, requests: 20_000, rounds: 3, concurrency: 64, only: None };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--data-dir" => options.data_dir = Some(PathBuf::from(value())),
            "--images" => options.images = value().parse().expect("--images: a number"),
            "--requests" => options.requests = value().parse().expect("--requests: a number"),
            "--rounds" => options.rounds = value().parse().expect("--rounds: a number"),
            "--only" => options.only = Some(value()),
            "--concurrency" => options.concurrency = value().parse().expect("--concurrency: a number"),
            // What `cargo bench` passes to every bench target.
            "--bench" => {}
            other => panic!("unknown option {other}"),
        }
    }
    options
}

fn grant() -> Grant {
    Grant {
        default_project: "p0".into(),
        projects: (0..PROJECTS).map(|p| format!("p{p}")).collect(),
        actions: vec!["*".into()],
    }
}

fn config(data_dir: PathBuf) -> Config {
    let mut config = Config { data_dir, ..Config::default() };
    config.auth = AuthConfig {
        max_clock_skew_secs: None,
        tokens: vec![TokenConfig { name: "bench".into(), token: Secret::new(TOKEN), grant: grant() }],
        credentials: vec![CredentialConfig {
            access_key: ACCESS_KEY.into(),
            secret_key: Secret::new(SECRET_KEY),
            security_token: None,
            grant: grant(),
        }],
    };
    config
}

/// The process's CPU time so far (user and system, every thread).
fn cpu_time() -> Duration {
    let time = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(time.tv_sec.unsigned_abs(), u32::try_from(time.tv_nsec).unwrap_or(0))
}

/// `requests` requests of one shape, built (and signed) before the clock starts.
fn requests(shape: &RequestShape, images: SeededImages, requests: usize) -> Vec<Request<Body>> {
    let host = HeaderValue::from_static("127.0.0.1:9292");
    (0..requests as u64)
        .map(|i| {
            let random = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let request =
                shape.build(&host, images.pick(random), SystemTime::now()).expect("a valid request");
            request.map(Body::new)
        })
        .collect()
}

fn main() {
    let options = options();
    logging::init(LogFormat::Text);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let scratch = tempfile::tempdir().expect("a temporary directory");
    let (data_dir, images) = match &options.data_dir {
        Some(dir) => (dir.clone(), options.images),
        None => (scratch.path().to_path_buf(), options.images),
    };
    let config = config(data_dir);
    let service = runtime.block_on(async {
        if options.data_dir.is_none() {
            let store = config
                .database()
                .expect("a database")
                .open(&config.sqlite_options(), &config.postgres_options())
                .await
                .expect("the store opens");
            let plan = SeedPlan {
                images,
                projects: (0..PROJECTS).map(|p| format!("p{p}")).collect(),
                tags_per_image: 4,
                first: 0,
            };
            ims_tags::seed::run(store.as_ref(), &plan, 5000, |_| {}).await.expect("seeded");
        }
        ims_tags::server::service(&config).await.expect("the service starts")
    });
    let token = Auth::Token(HeaderValue::from_static(TOKEN));
    let aksk = Auth::AkSk(Credentials::new(ACCESS_KEY.to_owned(), SECRET_KEY.to_owned()));
    let shapes = [
        ("ceiling GET /versions", RequestShape::new("GET", "/versions", "", Auth::None, None)),
        ("op 9, token", RequestShape::new("GET", IMAGE_PATH, "", token.clone(), None)),
        ("op 9, AK/SK", RequestShape::new("GET", IMAGE_PATH, "", aksk.clone(), None)),
        ("show image, token", RequestShape::new("GET", SHOW_PATH, "", token, None)),
        ("show image, AK/SK", RequestShape::new("GET", SHOW_PATH, "", aksk, None)),
    ];
    let seeded = SeededImages { images, projects: PROJECTS };
    let mut best = vec![f64::INFINITY; shapes.len()];
    for round in 1..=options.rounds {
        for (index, (name, shape)) in shapes.iter().enumerate() {
            if options.only.as_ref().is_some_and(|only| !name.contains(only.as_str())) {
                continue;
            }
            let shape = shape.as_ref().expect("a valid shape");
            let batch = requests(shape, seeded, options.requests);
            let micros = runtime.block_on(async {
                let started = cpu_time();
                futures::stream::iter(batch)
                    .for_each_concurrent(options.concurrency, |request| {
                        let answer = service.answer(request);
                        async move {
                            let response = answer.await;
                            assert!(response.status().is_success(), "{name}: {}", response.status());
                            response.into_body().collect().await.expect("a body");
                        }
                    })
                    .await;
                (cpu_time() - started).as_secs_f64() * 1e6 / options.requests as f64
            });
            best[index] = best[index].min(micros);
            println!("round {round}: {name:<20} {micros:7.2} µs of CPU per request");
        }
    }
    println!();
    for ((name, _), micros) in shapes.iter().zip(best).filter(|(_, micros)| micros.is_finite()) {
        println!("best: {name:<20} {micros:7.2} µs of CPU per request");
    }
}

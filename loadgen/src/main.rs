//! `ims-tags-load`: one fixed-duration load run of one request shape; prints
//! `RESULT <req/s> <p50 ms> <p99 ms> <p99.9 ms> <max ms> <requests> <errors>` (the wrk script's format).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use http::HeaderValue;
use ims_tags_load::{Auth, LoadPlan, RequestShape, SeededImages, Target};
use ims_tags_signing::{Algorithm, Credentials};

/// Loads an ims-tags server with one request shape, token-authenticated or AK/SK-signed.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The server's root URL; repeat for replicas (connections are spread over them in turn).
    #[arg(long = "url", default_value = "http://127.0.0.1:9292")]
    urls: Vec<String>,
    /// Concurrent connections, each with one request in flight.
    #[arg(long, short, default_value_t = 16)]
    connections: usize,
    /// Threads, each with its own event loop and a share of the connections.
    #[arg(long, short, default_value_t = 2)]
    threads: usize,
    /// Seconds to run for.
    #[arg(long, short, default_value_t = 10.0)]
    duration: f64,
    /// The request method.
    #[arg(long, short = 'X', default_value = "GET")]
    method: String,
    /// The request target (path and query, percent-encoded); `%012x` becomes a random seeded image of the
    /// first project.
    #[arg(long, default_value = "/versions")]
    path: String,
    /// The request body (sent as application/json when not empty).
    #[arg(long, default_value = "")]
    body: String,
    /// Authenticate with this X-Auth-Token.
    #[arg(long, env = "IMS_TAGS_LOAD_TOKEN", hide_env_values = true, conflicts_with = "access_key")]
    token: Option<String>,
    /// Sign every request with this access key (and --secret-key).
    #[arg(long, env = "IMS_TAGS_LOAD_ACCESS_KEY", requires = "secret_key")]
    access_key: Option<String>,
    /// The secret key of --access-key (ignored without one).
    #[arg(long, env = "IMS_TAGS_LOAD_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// The signing algorithm: SDK-HMAC-SHA256 (the SDK's default) or SDK-HMAC-SM3.
    #[arg(long, default_value = "SDK-HMAC-SHA256", value_parser = parse_algorithm)]
    algorithm: Algorithm,
    /// Send (and sign) this X-Project-Id.
    #[arg(long)]
    project_id: Option<String>,
    /// Images seeded by `ims-tags seed` (image n belongs to project n % --projects).
    #[arg(long, default_value_t = 1)]
    images: u64,
    /// Projects the seeded images are spread over.
    #[arg(long, default_value_t = 1)]
    projects: u64,
    /// Seed of the random image choice (default: the clock).
    #[arg(long)]
    seed: Option<u64>,
}

fn parse_algorithm(name: &str) -> Result<Algorithm, String> {
    match name.parse::<Algorithm>() {
        Ok(Algorithm::V11HmacSha256) => Err("V11-HMAC-SHA256 needs a region scope; not offered".to_owned()),
        Ok(algorithm) => Ok(algorithm),
        Err(e) => Err(e.to_string()),
    }
}

fn plan(cli: Cli) -> Result<LoadPlan, String> {
    let auth = match (cli.token, cli.access_key, cli.secret_key) {
        (Some(token), _, _) => {
            Auth::Token(HeaderValue::from_str(&token).map_err(|_| "the token is not a valid header value")?)
        }
        (None, Some(_), None) => return Err("--access-key needs --secret-key".to_owned()),
        (None, Some(_), Some(secret_key)) if secret_key.is_empty() => {
            return Err("the secret key is empty".to_owned());
        }
        (None, Some(access_key), Some(secret_key)) => {
            let mut credentials = Credentials::new(access_key, secret_key);
            credentials.algorithm = cli.algorithm;
            Auth::AkSk(credentials)
        }
        _ => Auth::None,
    };
    let shape = RequestShape::new(&cli.method, &cli.path, cli.body, auth, cli.project_id.as_deref())
        .map_err(|e| e.to_string())?;
    let targets = cli
        .urls
        .iter()
        .map(|url| Target::from_url(url))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if cli.connections == 0 || cli.threads == 0 {
        return Err("--connections and --threads must be at least 1".to_owned());
    }
    let duration = Duration::try_from_secs_f64(cli.duration)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or("--duration must be a positive number of seconds")?;
    let seed = cli.seed.unwrap_or_else(|| {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or_default()
    });
    Ok(LoadPlan {
        targets,
        connections: cli.connections,
        threads: cli.threads,
        duration,
        shape: Arc::new(shape),
        images: SeededImages { images: cli.images, projects: cli.projects },
        seed,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let plan = match plan(cli) {
        Ok(plan) => plan,
        Err(message) => {
            eprintln!("ims-tags-load: {message}");
            return ExitCode::from(2);
        }
    };
    let outcome = ims_tags_load::run(&plan);
    println!("{outcome}");
    if let Some(first) = &outcome.first_error {
        eprintln!("ims-tags-load: {} error(s); the first: {first}", outcome.errors);
    }
    ExitCode::SUCCESS
}

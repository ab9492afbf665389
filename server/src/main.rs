//! The `ims-tags` command: serve the API (the default), print or check the OpenAPI document, seed images.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ims_tags::config::{AuthConfig, Config, demo};
use ims_tags::seed::SeedPlan;
use ims_tags::server::Server;
use ims_tags::spec;
use ims_tags::store::postgres::PostgresOptions;
use ims_tags::store::sqlite::SqliteOptions;

/// A spec-first Huawei Cloud IMS image-tag and OpenStack Glance tag service.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// A TOML config file; without one the service runs with the demo credentials, printed at start-up.
    #[arg(long, short, global = true, env = "IMS_TAGS_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Write the OpenAPI documents (3.1 as emitted, and the 3.0 projection) into a directory.
    Openapi {
        /// Where to write them.
        #[arg(long, default_value_os_t = spec::default_dir())]
        dir: PathBuf,
        /// Only check that the files there are up to date; exit 1 if not.
        #[arg(long)]
        check: bool,
    },
    /// Create deterministic images (ids 00000000-0000-4000-8000-{n:012x}) for demos and benchmarks.
    Seed {
        /// How many images.
        #[arg(long, default_value_t = 100)]
        images: u64,
        /// An owner project (repeat for several, used in turn); default: the demo project.
        #[arg(long = "project")]
        projects: Vec<String>,
        /// Tags per image (env, team, app, tier, then key-only flags).
        #[arg(long, default_value_t = 4)]
        tags_per_image: usize,
        /// The first image number, to add to an earlier seed.
        #[arg(long, default_value_t = 0)]
        first: u64,
    },
}

fn load_config(path: Option<&std::path::Path>) -> Result<(Config, bool), String> {
    let mut config = Config::load(path).map_err(|e| format!("invalid configuration: {e}"))?;
    let demo = config.auth.is_empty();
    if demo {
        config.auth = AuthConfig::demo();
    }
    Ok((config, demo))
}

fn print_demo_banner(config: &Config, addr: std::net::SocketAddr) {
    let database = config.database().map(|d| d.to_string()).unwrap_or_default();
    println!(
        "ims-tags is running on http://{addr} with {database}\n\
         No credentials are configured, so the demo identity is active (all permissions on one project):\n  \
         project:      {}\n  X-Auth-Token: {}\n  AK / SK:      {} / {}\n\
         Swagger UI:    http://{addr}/swagger-ui/\n",
        demo::PROJECT,
        demo::TOKEN,
        demo::ACCESS_KEY,
        demo::SECRET_KEY,
    );
}

async fn serve(config: Config, demo: bool) -> Result<(), String> {
    let server = Server::start(&config).await.map_err(|e| e.to_string())?;
    if demo {
        print_demo_banner(&config, server.addr);
    } else {
        println!("ims-tags is running on http://{}", server.addr);
    }
    tracing::info!(addr = %server.addr, "listening");
    shutdown_signal().await.map_err(|e| e.to_string())?;
    tracing::info!("shutting down: finishing the requests in flight");
    server.stop().await.map_err(|e| e.to_string())
}

/// Ctrl-C, or SIGTERM (how service managers and containers stop a process).
async fn shutdown_signal() -> std::io::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = terminate.recv() => Ok(()),
    }
}

async fn seed(config: &Config, plan: &SeedPlan) -> Result<(), String> {
    let database = config.database()?;
    let store = database
        .open(
            &SqliteOptions { readers: 1, query_time_limit: None, ..config.sqlite_options() },
            &PostgresOptions { pool_size: 2, query_time_limit: None, ..config.postgres_options() },
        )
        .await
        .map_err(|e| format!("cannot open {database}: {e}"))?;
    let started = std::time::Instant::now();
    ims_tags::seed::run(store.as_ref(), plan, 5000, |done| {
        if done % 100_000 == 0 {
            println!("{done} images");
        }
    })
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "seeded {} images over {} project(s) into {} in {:.1}s",
        plan.images,
        plan.projects.len(),
        database,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn openapi(dir: PathBuf, check: bool) -> Result<(), String> {
    if !check {
        spec::write(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        println!(
            "wrote {} and {}",
            dir.join(spec::OPENAPI_FILE).display(),
            dir.join(spec::OPENAPI_3_0_FILE).display()
        );
        return Ok(());
    }
    let (emitted, projected) = spec::documents();
    for (name, expected) in [(spec::OPENAPI_FILE, emitted), (spec::OPENAPI_3_0_FILE, projected)] {
        let path = dir.join(name);
        let found = std::fs::read_to_string(&path).unwrap_or_default();
        if found != expected {
            return Err(format!("{} is stale: run `cargo run -p ims-tags -- openapi`", path.display()));
        }
    }
    println!("the OpenAPI documents in {} are up to date", dir.display());
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info")),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => match load_config(cli.config.as_deref()) {
            Ok((config, demo)) => serve(config, demo).await,
            Err(e) => Err(e),
        },
        Command::Openapi { dir, check } => openapi(dir, check),
        Command::Seed { images, projects, tags_per_image, first } => {
            let projects = if projects.is_empty() { vec![demo::PROJECT.to_owned()] } else { projects };
            let plan = SeedPlan { images, projects, tags_per_image, first };
            match load_config(cli.config.as_deref()) {
                Ok((config, _)) => seed(&config, &plan).await,
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("ims-tags: {message}");
            ExitCode::FAILURE
        }
    }
}

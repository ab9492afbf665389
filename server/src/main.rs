//! The `ims-tags` command: serve the API (the default), print or check the OpenAPI document, seed images.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ims_tags::config::{AuthConfig, Config, demo};
use ims_tags::ops::logging::{self, LogFormat};
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
    /// How the log is written: `text` (on stdout) or `json` (one object per line on stderr, with a line for
    /// every request); overrides `observability.log_format`. Default: text.
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
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

/// Loads the configuration and starts the log in the format the option, else the configuration, asks for
/// (text when the configuration cannot be loaded).
fn configure(
    path: Option<&std::path::Path>,
    option: Option<LogFormat>,
) -> (Result<(Config, bool), String>, LogFormat) {
    match load_config(path) {
        Ok((mut config, demo)) => {
            let format = option.unwrap_or(config.observability.log_format);
            config.observability.log_format = format;
            logging::init(format);
            (Ok((config, demo)), format)
        }
        Err(e) => {
            let format = option.unwrap_or_default();
            logging::init(format);
            (Err(e), format)
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let (result, log_format) = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => match configure(cli.config.as_deref(), cli.log_format) {
            (Ok((config, demo)), format) => (serve(config, demo).await, format),
            (Err(e), format) => (Err(e), format),
        },
        Command::Openapi { dir, check } => {
            let format = cli.log_format.unwrap_or_default();
            logging::init(format);
            (openapi(dir, check), format)
        }
        Command::Seed { images, projects, tags_per_image, first } => {
            let projects = if projects.is_empty() { vec![demo::PROJECT.to_owned()] } else { projects };
            let plan = SeedPlan { images, projects, tags_per_image, first };
            match configure(cli.config.as_deref(), cli.log_format) {
                (Ok((config, _)), format) => (seed(&config, &plan).await, format),
                (Err(e), format) => (Err(e), format),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            match log_format {
                LogFormat::Text => eprintln!("ims-tags: {message}"),
                LogFormat::Json => tracing::error!(error = %message, "ims-tags stopped"),
            }
            ExitCode::FAILURE
        }
    }
}

//! `ims-tags-conformance`: judges an endpoint against the IMS image-tag and Glance native tag contract, case by
//! case, and says where it keeps and where it breaks it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ims_tags_client::{Algorithm, Credentials, V11Scope};
use ims_tags_conformance::run::{self, Selection};
use ims_tags_conformance::target::{Credential, Identity, Limits, Profile, Target, new_run_id};
use ims_tags_conformance::{cases, report};

/// Judge an IMS / Glance image-tag endpoint against the contract.
///
/// Contract cases are judged by default; --strict adds ims-tags' own choices. Cases the target cannot run
/// (an operation outside its profile, an identity not given) are reported as SKIP with the reason. The exit
/// status is 1 when a case failed, 2 when the run could not start.
#[derive(Debug, Parser)]
#[command(name = "ims-tags-conformance", version)]
struct Args {
    /// The endpoint, e.g. http://127.0.0.1:9292.
    #[arg(long, required_unless_present = "list")]
    base_url: Option<String>,
    /// The main identity's project (it owns the images the cases make).
    #[arg(long, required_unless_present = "list")]
    project: Option<String>,
    #[command(flatten)]
    owner: Auth,
    /// A second project the main identity may act in (sent as X-Project-Id).
    #[arg(long)]
    second_project: Option<String>,
    /// The project of a second identity, for the isolation cases.
    #[arg(long)]
    other_project: Option<String>,
    /// The second identity's X-Auth-Token.
    #[arg(long)]
    other_token: Option<String>,
    /// The second identity's access key.
    #[arg(long, requires = "other_sk")]
    other_ak: Option<String>,
    /// The second identity's secret key.
    #[arg(long, requires = "other_ak")]
    other_sk: Option<String>,
    /// The second identity's security token (a temporary AK/SK).
    #[arg(long)]
    other_security_token: Option<String>,
    /// A header the second identity sends, `Name: value` (repeatable).
    #[arg(long = "other-header", value_name = "NAME: VALUE")]
    other_headers: Vec<String>,
    /// A token of the main project without one IAM action, `ACTION=TOKEN` (repeatable).
    #[arg(long, value_name = "ACTION=TOKEN")]
    lacking: Vec<String>,
    /// What the target implements.
    #[arg(long, value_enum, default_value_t = Profile::All)]
    profile: Profile,
    /// The target also creates images with POST /v2/images (implied by the glance and all profiles).
    #[arg(long)]
    registry: bool,
    /// An untagged image of the main project the cases may tag, for targets that cannot create images
    /// (repeatable); the cases leave it untagged.
    #[arg(long = "image", value_name = "ID")]
    images: Vec<String>,
    /// Also judge ims-tags' own choices (docs/decisions.md).
    #[arg(long)]
    strict: bool,
    /// Judge error statuses but not the envelope's codes (the errors.envelope.* cases still judge the envelope).
    #[arg(long)]
    statuses_only: bool,
    /// An OpenAPI document to read the limits from (default: the one checked in with this runner).
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Tags per image.
    #[arg(long)]
    quota: Option<usize>,
    /// Longest IMS key.
    #[arg(long)]
    ims_key_max: Option<usize>,
    /// Longest IMS value.
    #[arg(long)]
    ims_value_max: Option<usize>,
    /// Longest native tag.
    #[arg(long)]
    native_tag_max: Option<usize>,
    /// Longest key or value on read and delete paths.
    #[arg(long)]
    lookup_max: Option<usize>,
    /// Run only cases matching PATTERN: a name, a dotted prefix, or a glob with `*` (repeatable, or comma-separated).
    #[arg(long, value_name = "PATTERN", value_delimiter = ',')]
    only: Vec<String>,
    /// Leave out cases matching PATTERN (repeatable, or comma-separated).
    #[arg(long, value_name = "PATTERN", value_delimiter = ',')]
    skip: Vec<String>,
    /// List the cases (name, kind, family, rule) and exit.
    #[arg(long)]
    list: bool,
    /// Write JUnit XML here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// The run id (default: random): this run's images are named `conformance-<id>-...` and carry the
    /// property `ims_tags_conformance_run=<id>`.
    #[arg(long)]
    run_id: Option<String>,
    /// Show only failures and the summary, not every case.
    #[arg(long)]
    quiet: bool,
}

/// The main identity's credentials.
#[derive(Debug, clap::Args)]
struct Auth {
    /// An X-Auth-Token.
    #[arg(long)]
    token: Option<String>,
    /// An access key (requests are signed as the Huawei SDKs sign them).
    #[arg(long, requires = "sk")]
    ak: Option<String>,
    /// The secret key.
    #[arg(long, requires = "ak")]
    sk: Option<String>,
    /// The security token of a temporary AK/SK.
    #[arg(long)]
    security_token: Option<String>,
    /// The signing algorithm: SDK-HMAC-SHA256, SDK-HMAC-SM3 or V11-HMAC-SHA256.
    #[arg(long, default_value = "SDK-HMAC-SHA256")]
    algorithm: String,
    /// Region and service of V11-HMAC-SHA256, `REGION/SERVICE`.
    #[arg(long, default_value = "cn-north-4/ims")]
    v11_scope: String,
    /// A header every request sends, `Name: value` (repeatable), e.g. identity headers behind a trusted proxy.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
}

fn headers(list: &[String]) -> Result<Vec<(String, String)>, String> {
    list.iter()
        .map(|h| {
            h.split_once(':')
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                .ok_or_else(|| format!("a header is `Name: value`, not {h:?}"))
        })
        .collect()
}

fn algorithm(name: &str) -> Result<Algorithm, String> {
    Algorithm::ALL
        .into_iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(name))
        .ok_or_else(|| format!("unknown algorithm {name:?}"))
}

fn aksk(ak: &str, sk: &str, token: Option<&String>, auth: &Auth) -> Result<Credentials, String> {
    let algorithm = algorithm(&auth.algorithm)?;
    let v11_scope = auth
        .v11_scope
        .split_once('/')
        .map(|(region, service)| V11Scope { region: region.into(), service: service.into() });
    Ok(Credentials { algorithm, v11_scope, security_token: token.cloned(), ..Credentials::new(ak, sk) })
}

fn credential(
    token: Option<&String>,
    ak_sk: Option<(&String, &String)>,
    security_token: Option<&String>,
    header_list: &[String],
    auth: &Auth,
) -> Result<Option<Credential>, String> {
    let given =
        usize::from(token.is_some()) + usize::from(ak_sk.is_some()) + usize::from(!header_list.is_empty());
    if given > 1 {
        return Err("give one of a token, an AK/SK pair or headers for an identity".into());
    }
    Ok(if let Some(token) = token {
        Some(Credential::Token(token.clone()))
    } else if let Some((ak, sk)) = ak_sk {
        Some(Credential::AkSk(aksk(ak, sk, security_token, auth)?))
    } else if !header_list.is_empty() {
        Some(Credential::Headers(headers(header_list)?))
    } else {
        None
    })
}

fn target(args: &Args) -> Result<Target, String> {
    let base_url = args.base_url.clone().ok_or("--base-url is required")?;
    let project = args.project.clone().ok_or("--project is required")?;
    let a = &args.owner;
    let owner = credential(
        a.token.as_ref(),
        a.ak.as_ref().zip(a.sk.as_ref()),
        a.security_token.as_ref(),
        &a.headers,
        a,
    )?
    .ok_or("give the main identity's --token, --ak/--sk or --header")?;
    let mut target = Target::new(base_url, Identity { project, credential: owner });
    target.owner_second_project = args.second_project.clone();
    let other = credential(
        args.other_token.as_ref(),
        args.other_ak.as_ref().zip(args.other_sk.as_ref()),
        args.other_security_token.as_ref(),
        &args.other_headers,
        a,
    )?;
    if let Some(credential) = other {
        let project =
            args.other_project.clone().ok_or("--other-project is required with another identity")?;
        target.other = Some(Identity { project, credential });
    }
    for entry in &args.lacking {
        let (action, token) =
            entry.split_once('=').ok_or_else(|| format!("--lacking ACTION=TOKEN, not {entry:?}"))?;
        let project = target.owner.project.clone();
        target
            .lacking
            .push((action.to_owned(), Identity { project, credential: Credential::Token(token.to_owned()) }));
    }
    target.profile = args.profile;
    target.registry = args.registry;
    target.images = args.images.clone();
    target.strict = args.strict;
    target.statuses_only = args.statuses_only;
    target.run_id = args.run_id.clone().unwrap_or_else(new_run_id);
    let mut limits = match &args.spec {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let doc = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            Limits::from_document(&doc)
        }
        None => Limits::checked_in(),
    };
    let set = |slot: &mut usize, value: Option<usize>| {
        if let Some(value) = value {
            *slot = value;
        }
    };
    set(&mut limits.tags_per_image, args.quota);
    set(&mut limits.ims_key_max, args.ims_key_max);
    set(&mut limits.ims_value_max, args.ims_value_max);
    set(&mut limits.native_tag_max, args.native_tag_max);
    set(&mut limits.lookup_max, args.lookup_max);
    target.limits = limits;
    Ok(target)
}

fn write(path: &PathBuf, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let cases = cases::all();
    let selection = Selection { only: args.only.clone(), skip: args.skip.clone() };
    if args.list {
        for case in cases.iter().filter(|c| selection.selects(&c.name)) {
            println!(
                "{:<8}  {:<9}  {}  {}",
                format!("{:?}", case.kind).to_lowercase(),
                case.family.as_str(),
                case.name,
                case.rule
            );
        }
        return ExitCode::SUCCESS;
    }
    let target = match target(&args) {
        Ok(target) => target,
        Err(problem) => {
            eprintln!("ims-tags-conformance: {problem}");
            return ExitCode::from(2);
        }
    };
    if let Err(problem) = run::check_given_images(&target).await {
        eprintln!("ims-tags-conformance: {problem}");
        return ExitCode::from(2);
    }
    println!(
        "ims-tags-conformance: {} (profile {}{}, run {})\nlimits: {:?}\n",
        target.base_url,
        target.profile,
        if target.strict { ", strict" } else { "" },
        target.run_id,
        target.limits
    );
    let quiet = args.quiet;
    let result = run::run(&cases, &target, &selection, |case| {
        if !quiet || case.status == run::Status::Fail {
            print!("{}", report::case_line(case, true));
        }
    })
    .await;
    println!("\n{}", report::summary(&result));
    let mut status = if result.failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS };
    for (path, text) in [(&args.junit, report::junit(&result)), (&args.json, report::json(&result))] {
        if let Some(path) = path
            && let Err(problem) = write(path, &text)
        {
            eprintln!("ims-tags-conformance: {problem}");
            status = ExitCode::from(2);
        }
    }
    status
}

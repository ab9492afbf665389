//! Running cases against a target: which apply (profile, `--strict`, what each needs), running each with a
//! time limit, cleaning up after it, and the results.

use std::time::{Duration, Instant};

use crate::case::{Case, Ctx, Kind, Need};
use crate::outcome::Failure;
use crate::target::{Family, Limits, Target};

/// The verdict on one case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// The target keeps the rule.
    Pass,
    /// The target breaks the rule.
    Fail,
    /// Not judged, for the reason given.
    Skip,
}

impl Status {
    /// `PASS`, `FAIL` or `SKIP`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// What happened to one case.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CaseReport {
    /// The case name.
    pub name: String,
    /// Contract or choice.
    pub kind: Kind,
    /// The family it judges.
    pub family: &'static str,
    /// The rule.
    pub rule: String,
    /// The verdict.
    pub status: Status,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// What its clean-up could not undo.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cleanup_problems: Vec<String>,
    /// How long it ran, in milliseconds.
    pub duration_ms: u128,
}

/// The results of a run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunReport {
    /// The base URL judged.
    pub base_url: String,
    /// The profile.
    pub profile: String,
    /// Whether ims-tags' choices were judged too.
    pub strict: bool,
    /// The run id (the name prefix and property of this run's images).
    pub run_id: String,
    /// The limits judged by.
    pub limits: Limits,
    /// Every selected case, in order.
    pub cases: Vec<CaseReport>,
    /// Passed cases.
    pub passed: usize,
    /// Failed cases.
    pub failed: usize,
    /// Skipped cases.
    pub skipped: usize,
    /// How long the run took, in milliseconds.
    pub duration_ms: u128,
}

impl RunReport {
    /// The names of the failed cases.
    pub fn failed_names(&self) -> Vec<String> {
        self.cases.iter().filter(|c| c.status == Status::Fail).map(|c| c.name.clone()).collect()
    }
}

/// Which cases a run selects: `--only` and `--skip` patterns.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Run only cases matching one of these (all when empty).
    pub only: Vec<String>,
    /// Leave out cases matching one of these.
    pub skip: Vec<String>,
}

impl Selection {
    /// Whether `name` is selected.
    pub fn selects(&self, name: &str) -> bool {
        (self.only.is_empty() || self.only.iter().any(|p| matches(p, name)))
            && !self.skip.iter().any(|p| matches(p, name))
    }
}

/// A pattern with `*` wildcards matches the whole name; one without matches the name or its dotted prefix
/// (`native.delete` matches `native.delete.missing_tag_is_404`).
pub fn matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains('*') {
        return name == pattern || name.strip_prefix(pattern).is_some_and(|rest| rest.starts_with('.'));
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// Why `case` cannot be judged on `target`, if it cannot.
pub fn skip_reason(case: &Case, target: &Target) -> Option<String> {
    let lacks = |family: Family| {
        format!("the target (profile `{}`) does not serve the {} operations", target.profile, family.as_str())
    };
    if !target.serves(case.family) {
        return Some(lacks(case.family));
    }
    if case.kind == Kind::Choice && !target.strict {
        return Some("an ims-tags choice (docs/decisions.md), judged with --strict".to_owned());
    }
    for need in &case.needs {
        let missing = match *need {
            Need::Serves(family) => (!target.serves(family)).then(|| lacks(family)),
            Need::Registry => (!target.creates_images())
                .then(|| "needs images made with POST /v2/images (the registry; --registry)".to_owned()),
            Need::Images(n) => (!target.creates_images() && target.images.len() < n).then(|| {
                format!("needs {n} of the owner's untagged images: the registry (--registry) or --image ID")
            }),
            Need::Other => target.other.is_none().then(|| {
                "needs an identity of another project (--other-token, --other-ak/--other-sk)".to_owned()
            }),
            Need::SecondProject => target
                .owner_second_project
                .is_none()
                .then(|| "needs a second project of the main identity (--second-project)".to_owned()),
            Need::Lacking(action) => (!target.lacking.iter().any(|(a, _)| a == action))
                .then(|| format!("needs an identity without {action} (--lacking {action}=TOKEN)")),
            Need::AkSk => (![Some(&target.owner), target.other.as_ref()]
                .into_iter()
                .flatten()
                .any(|i| i.credential.aksk().is_some()))
            .then(|| "needs an AK/SK identity (--ak/--sk or --other-ak/--other-sk)".to_owned()),
            Need::SecurityToken => (![Some(&target.owner), target.other.as_ref()]
                .into_iter()
                .flatten()
                .any(|i| i.credential.aksk().is_some_and(|c| c.security_token.is_some())))
            .then(|| "needs a temporary AK/SK with its security token (--security-token)".to_owned()),
            Need::PlainHttp => (!target.base_url.starts_with("http://"))
                .then(|| "writes bytes to a socket: needs a plain http:// base URL".to_owned()),
        };
        if missing.is_some() {
            return missing;
        }
    }
    None
}

/// How long one case may take.
pub const CASE_TIME_LIMIT: Duration = Duration::from_secs(120);

/// Runs one case (with its clean-up).
pub async fn run_case(case: &Case, target: &Target) -> CaseReport {
    let mut report = CaseReport {
        name: case.name.clone(),
        kind: case.kind,
        family: case.family.as_str(),
        rule: case.rule.clone(),
        status: Status::Skip,
        skip_reason: skip_reason(case, target),
        failure: None,
        cleanup_problems: Vec::new(),
        duration_ms: 0,
    };
    if report.skip_reason.is_some() {
        return report;
    }
    let started = Instant::now();
    let ctx = Ctx::new(target);
    let outcome = match tokio::time::timeout(CASE_TIME_LIMIT, (case.run)(&ctx)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(Failure::new(format!("the case took longer than {} s", CASE_TIME_LIMIT.as_secs()))),
    };
    report.cleanup_problems = ctx.clean_up().await;
    report.duration_ms = started.elapsed().as_millis();
    match outcome {
        Ok(()) => report.status = Status::Pass,
        Err(failure) => {
            report.status = Status::Fail;
            report.failure = Some(failure);
        }
    }
    report
}

/// Checks that the given images exist and are untagged, so that the cases can leave them as they found them.
pub async fn check_given_images(target: &Target) -> Result<(), String> {
    let ctx = Ctx::new(target);
    for image in &target.images {
        let tags = ctx.tags(image).await.map_err(|f| format!("--image {image}: {f}"))?;
        if !tags.is_empty() {
            return Err(format!(
                "--image {image} has tags {tags:?}: give untagged images (the cases tag them and remove every tag)"
            ));
        }
    }
    Ok(())
}

/// Runs the selected cases in order; `progress` sees each result as it comes.
pub async fn run(
    cases: &[Case],
    target: &Target,
    selection: &Selection,
    mut progress: impl FnMut(&CaseReport),
) -> RunReport {
    let started = Instant::now();
    let mut reports = Vec::new();
    for case in cases.iter().filter(|c| selection.selects(&c.name)) {
        let report = run_case(case, target).await;
        progress(&report);
        reports.push(report);
    }
    let count = |status: Status| reports.iter().filter(|r| r.status == status).count();
    RunReport {
        base_url: target.base_url.clone(),
        profile: target.profile.to_string(),
        strict: target.strict,
        run_id: target.run_id.clone(),
        limits: target.limits,
        passed: count(Status::Pass),
        failed: count(Status::Fail),
        skipped: count(Status::Skip),
        cases: reports,
        duration_ms: started.elapsed().as_millis(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_names_prefixes_and_globs() {
        assert!(matches("native.delete", "native.delete.missing_tag_is_404"));
        assert!(!matches("native.del", "native.delete.missing_tag_is_404"), "a prefix ends at a dot");
        assert!(matches("native.delete.missing_tag_is_404", "native.delete.missing_tag_is_404"));
        assert!(matches("*.quota.*", "ims.v2.quota.n_plus_1_is_400"));
        assert!(matches("*404", "native.delete.missing_tag_is_404"));
        assert!(!matches("*.quota.*", "native.put.adds"));
        assert!(matches("*", "anything"));
        let selection = Selection { only: vec!["native".into()], skip: vec!["*.wire.*".into()] };
        assert!(selection.selects("native.put.x") && !selection.selects("native.wire.x"));
        assert!(!selection.selects("registry.create.x"));
    }
}

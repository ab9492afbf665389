//! The results for a person (a table, with the request and answer of every failure) and for machines
//! (JUnit XML for CI systems, and JSON).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::run::{CaseReport, RunReport, Status};

/// One line per case: verdict, kind, name (and, if asked, why it was skipped); under a failure its message,
/// request and answer.
pub fn case_line(case: &CaseReport, skip_reasons: bool) -> String {
    let kind = format!("{:?}", case.kind).to_lowercase();
    let mut text = format!("{:<4}  {kind:<8}  {}", case.status.as_str(), case.name);
    match &case.skip_reason {
        Some(reason) if skip_reasons => text.push_str(&format!("  ({reason})\n")),
        _ => text.push('\n'),
    }
    if let Some(failure) = &case.failure {
        text.push_str(&indent(&format!("rule: {}\n{failure}", case.rule)));
    }
    for problem in &case.cleanup_problems {
        text.push_str(&indent(&format!("clean-up: {problem}")));
    }
    text
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("        {line}\n")).collect()
}

/// The whole table, then the counts per kind and the closing line.
pub fn table(report: &RunReport) -> String {
    let mut text = format!(
        "ims-tags-conformance: {} (profile {}{}, run {})\n\n",
        report.base_url,
        report.profile,
        if report.strict { ", strict" } else { "" },
        report.run_id
    );
    for case in &report.cases {
        text.push_str(&case_line(case, true));
    }
    text.push('\n');
    text.push_str(&summary(report));
    text
}

/// Counts by kind and verdict, and `N passed, N failed, N skipped`.
pub fn summary(report: &RunReport) -> String {
    let mut counts: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    for case in &report.cases {
        let slot = match case.status {
            Status::Pass => 0,
            Status::Fail => 1,
            Status::Skip => 2,
        };
        counts.entry(format!("{:?}", case.kind).to_lowercase()).or_default()[slot] += 1;
    }
    let mut text = String::new();
    for (kind, [pass, fail, skip]) in &counts {
        let _ = writeln!(text, "{kind:<8}  {pass} passed, {fail} failed, {skip} skipped");
    }
    let _ = writeln!(
        text,
        "{} passed, {} failed, {} skipped in {:.1} s",
        report.passed,
        report.failed,
        report.skipped,
        report.duration_ms as f64 / 1000.0
    );
    text
}

/// The report as JSON.
pub fn json(report: &RunReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_default()
}

/// Text safe inside XML attributes and elements: the five entities escaped, characters XML 1.0 forbids
/// dropped.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The report as JUnit XML: one test suite per family, one test case per case.
pub fn junit(report: &RunReport) -> String {
    let mut families: BTreeMap<&str, Vec<&CaseReport>> = BTreeMap::new();
    for case in &report.cases {
        families.entry(case.family).or_default().push(case);
    }
    let seconds = |ms: u128| format!("{:.3}", ms as f64 / 1000.0);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"ims-tags-conformance\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{}\">",
        report.cases.len(),
        report.failed,
        report.skipped,
        seconds(report.duration_ms)
    );
    for (family, cases) in families {
        let failures = cases.iter().filter(|c| c.status == Status::Fail).count();
        let skipped = cases.iter().filter(|c| c.status == Status::Skip).count();
        let time: u128 = cases.iter().map(|c| c.duration_ms).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{family}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{}\">",
            cases.len(),
            seconds(time)
        );
        for case in cases {
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"conformance.{family}.{:?}\" time=\"{}\"",
                xml(&case.name),
                case.kind,
                seconds(case.duration_ms)
            );
            match (case.status, &case.failure, &case.skip_reason) {
                (Status::Fail, Some(failure), _) => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        xml(&failure.message),
                        xml(&format!("rule: {}\n{failure}", case.rule))
                    );
                }
                (Status::Skip, _, reason) => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml(reason.as_deref().unwrap_or(""))
                    );
                }
                _ => out.push_str("/>\n"),
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Kind;
    use crate::outcome::{Exchange, Failure};
    use crate::target::Limits;

    fn report() -> RunReport {
        let case = |name: &str, status: Status| CaseReport {
            name: name.into(),
            kind: Kind::Contract,
            family: "native",
            rule: "a rule".into(),
            status,
            skip_reason: (status == Status::Skip).then(|| "no <registry>".into()),
            failure: (status == Status::Fail).then(|| Failure {
                message: "expected status 404, got 204".into(),
                exchange: Some(Exchange { request: "DELETE /x\u{1}".into(), response: "HTTP 204".into() }),
            }),
            cleanup_problems: Vec::new(),
            duration_ms: 12,
        };
        RunReport {
            base_url: "http://127.0.0.1:1".into(),
            profile: "all".into(),
            strict: false,
            run_id: "abcd1234".into(),
            limits: Limits::default(),
            cases: vec![
                case("a.pass", Status::Pass),
                case("a.fail", Status::Fail),
                case("a.skip", Status::Skip),
            ],
            passed: 1,
            failed: 1,
            skipped: 1,
            duration_ms: 40,
        }
    }

    #[test]
    fn junit_counts_and_escapes() {
        let xml = junit(&report());
        assert!(xml.contains("tests=\"3\" failures=\"1\" skipped=\"1\""), "{xml}");
        assert!(xml.contains("<skipped message=\"no &lt;registry&gt;\"/>"), "{xml}");
        assert!(xml.contains("<failure message=\"expected status 404, got 204\">"), "{xml}");
        assert!(!xml.contains('\u{1}'), "control characters XML forbids are replaced");
        assert!(xml.contains(
            "<testcase name=\"a.pass\" classname=\"conformance.native.Contract\" time=\"0.012\"/>"
        ));
    }

    #[test]
    fn the_table_shows_the_exchange_of_a_failure_and_ends_with_the_counts() {
        let text = table(&report());
        assert!(text.contains("FAIL  contract  a.fail"), "{text}");
        assert!(text.contains("SKIP  contract  a.skip  (no <registry>)"), "{text}");
        assert!(text.contains("        --- request\n        DELETE /x"), "{text}");
        assert!(text.trim_end().ends_with("1 passed, 1 failed, 1 skipped in 0.0 s"), "{text}");
        let parsed: serde_json::Value = serde_json::from_str(&json(&report())).expect("JSON");
        assert_eq!(parsed["cases"][1]["status"], "FAIL");
        assert_eq!(parsed["cases"][1]["failure"]["exchange"]["response"], "HTTP 204");
    }
}

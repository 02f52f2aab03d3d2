//! The results of a run: [`TestReport`], printed as text (one line per case, details for each
//! failure, a summary), as JSON, or as JUnit XML.

use std::fmt;
use std::fmt::Write as _;

use serde::Serialize;

use super::fields::Problem;
use crate::route::explain::Explanation;

/// One comparison of a request: the field, what the test expects and what Istio does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct Check {
    pub(super) field: String,
    pub(super) expected: String,
    pub(super) actual: String,
    pub(super) passed: bool,
    /// The values are strings to print quoted (so that `""` shows): router_check_tool's names.
    #[serde(skip)]
    pub(super) quoted: bool,
}

impl Check {
    /// `(expected, actual)` as printed.
    fn shown(&self) -> (String, String) {
        if self.quoted {
            (format!("{:?}", self.expected), format!("{:?}", self.actual))
        } else {
            (self.expected.clone(), self.actual.clone())
        }
    }
}

/// One request of a case, decided.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RequestResult {
    /// `GET http://svc-b:8080/greet`.
    pub(super) request: String,
    /// Who sent it (`a sidecar in default`) and why that proxy.
    pub(super) caller: String,
    pub(super) caller_reason: String,
    pub(super) passed: bool,
    pub(super) checks: Vec<Check>,
    /// Where the test expects what Istio does not do (failures only).
    pub(super) notes: Vec<String>,
    /// Why the request went where it went (failures only).
    pub(super) explain: Option<Explanation>,
}

/// One case of a test file.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CaseResult {
    pub(super) file: String,
    pub(super) line: Option<u32>,
    /// `istio-config-validator` or `router_check_tool`.
    pub(super) format: &'static str,
    /// `testCases[0] "description"`, `tests[2] "test name"`.
    pub(super) case: String,
    pub(super) passed: bool,
    pub(super) requests: Vec<RequestResult>,
    /// The keys of this case that were not read.
    pub(super) warnings: Vec<Problem>,
}

/// What running routing test files found: per case, whether Istio does what the test expects,
/// and for each failure the expected and actual values, who sent the request, where the test
/// expects what Istio does not do, and the explanation of the decision.
///
/// `Display` prints it as `meshroute test` does: one line per case (`PASS` or `FAIL`, the file
/// and line, the case), the details of each failing request, the warnings, and a summary.
///
/// ```
/// use meshroute::sim::TestFiles;
///
/// let report = TestFiles::discover(["examples/seed/tests/"])?
///     .config([
///         "examples/seed/demo.yaml",
///         "examples/seed/demo-gateway.yaml",
///         "examples/seed/destination-rule-svc-b-canary.yaml",
///     ])
///     .run()?;
/// assert!(report.passed(), "{report}");
/// assert_eq!(report.failed(), 0);
/// let json: serde_json::Value = serde_json::from_str(&report.to_json())?;
/// assert_eq!(json["passed"], true);
/// assert!(report.to_junit().starts_with("<?xml"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestReport {
    pub(super) cases: Vec<CaseResult>,
    /// Keys of the test files that were not read, outside any case.
    pub(super) warnings: Vec<Problem>,
    /// The configuration's warnings (as `meshroute check` prints them).
    pub(super) configuration_warnings: Vec<String>,
    /// The test files read.
    pub(super) files: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    files: usize,
    cases: usize,
    passed: usize,
    failed: usize,
    warnings: usize,
}

#[derive(Serialize)]
struct Json<'a> {
    passed: bool,
    summary: Summary,
    #[serde(flatten)]
    report: &'a TestReport,
}

impl TestReport {
    /// Whether every case passed.
    pub fn passed(&self) -> bool {
        self.cases.iter().all(|c| c.passed)
    }

    /// How many cases failed.
    pub fn failed(&self) -> usize {
        self.cases.iter().filter(|c| !c.passed).count()
    }

    fn warning_count(&self) -> usize {
        self.warnings.len() + self.cases.iter().map(|c| c.warnings.len()).sum::<usize>()
    }

    fn summary(&self) -> Summary {
        Summary {
            files: self.files.len(),
            cases: self.cases.len(),
            passed: self.cases.len() - self.failed(),
            failed: self.failed(),
            warnings: self.warning_count(),
        }
    }

    /// The report as one JSON object (what `meshroute test --json` prints): `{"passed",
    /// "summary": {"files", "cases", "passed", "failed", "warnings"}, "cases": [{"file", "line",
    /// "format", "case", "passed", "requests": [{"request", "caller", "callerReason", "passed",
    /// "checks": [{"field", "expected", "actual", "passed"}], "notes", "explain"}],
    /// "warnings"}], "warnings", "configurationWarnings", "files"}`; a warning is `{"file",
    /// "line", "case", "field", "message"}`, `explain` is the decision's explanation (as
    /// `meshroute route --json --explain` prints it) for failing requests, else `null`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&Json {
            passed: self.passed(),
            summary: self.summary(),
            report: self,
        })
        .unwrap_or_default()
    }

    /// The report as JUnit XML (what `meshroute test --junit FILE` writes): a `testsuite` per
    /// test file, a `testcase` per case with a `failure` holding the details of each failing
    /// request, warnings in `system-out`.
    pub fn to_junit(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"meshroute test\" tests=\"{}\" failures=\"{}\">",
            self.cases.len(),
            self.failed()
        );
        for file in &self.files {
            let cases: Vec<&CaseResult> = self.cases.iter().filter(|c| c.file == *file).collect();
            let failures = cases.iter().filter(|c| !c.passed).count();
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">",
                xml(file),
                cases.len()
            );
            for case in cases {
                let name = match case.line {
                    Some(line) => format!("{} (line {line})", case.case),
                    None => case.case.clone(),
                };
                let _ = write!(
                    out,
                    "    <testcase classname=\"{}\" name=\"{}\"",
                    xml(file),
                    xml(&name)
                );
                if case.passed && case.warnings.is_empty() {
                    out.push_str("/>\n");
                    continue;
                }
                out.push_str(">\n");
                if !case.passed {
                    let first = case
                        .requests
                        .iter()
                        .find(|r| !r.passed)
                        .and_then(|r| r.checks.iter().find(|c| !c.passed).map(|c| (r, c)));
                    let message = first.map_or_else(
                        || "failed".to_owned(),
                        |(r, c)| {
                            let (expected, actual) = c.shown();
                            format!(
                                "{}: {}: expected {expected}, actual {actual}",
                                r.request, c.field
                            )
                        },
                    );
                    let mut details = String::new();
                    for request in case.requests.iter().filter(|r| !r.passed) {
                        let _ = write_request(&mut details, request, "");
                    }
                    let _ = writeln!(
                        out,
                        "      <failure message=\"{}\" type=\"routing\">{}</failure>",
                        xml(&message),
                        xml(&details)
                    );
                }
                if !case.warnings.is_empty() {
                    let text: Vec<String> = case
                        .warnings
                        .iter()
                        .map(|w| format!("warning: {w}"))
                        .collect();
                    let _ = writeln!(
                        out,
                        "      <system-out>{}</system-out>",
                        xml(&text.join("\n"))
                    );
                }
                out.push_str("    </testcase>\n");
            }
            let file_warnings: Vec<String> = self
                .warnings
                .iter()
                .filter(|w| w.file == *file)
                .map(|w| format!("warning: {w}"))
                .collect();
            if !file_warnings.is_empty() {
                let _ = writeln!(
                    out,
                    "    <system-out>{}</system-out>",
                    xml(&file_warnings.join("\n"))
                );
            }
            out.push_str("  </testsuite>\n");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

/// Text as XML character data or an attribute value: the five special characters escaped, and
/// the characters XML 1.0 does not allow (controls other than tab, newline and carriage return)
/// replaced with U+FFFD.
pub(super) fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || matches!(c, '\u{FFFE}' | '\u{FFFF}') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A failing request: the request and its caller, each failing check, the notes, the trace.
fn write_request(out: &mut impl fmt::Write, request: &RequestResult, indent: &str) -> fmt::Result {
    writeln!(
        out,
        "{indent}{}, sent by {} ({})",
        request.request, request.caller, request.caller_reason
    )?;
    for check in request.checks.iter().filter(|c| !c.passed) {
        let (expected, actual) = check.shown();
        writeln!(out, "{indent}  {}: expected {expected}", check.field)?;
        let pad = " ".repeat(check.field.len());
        writeln!(out, "{indent}  {pad}  actual   {actual}")?;
    }
    for note in &request.notes {
        writeln!(out, "{indent}  note: {note}")?;
    }
    if let Some(explain) = &request.explain {
        writeln!(out, "{indent}  why:")?;
        for line in explain.to_string().lines() {
            writeln!(out, "{indent}    {line}")?;
        }
    }
    Ok(())
}

impl fmt::Display for TestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for case in &self.cases {
            let place = match case.line {
                Some(line) => format!("{}:{line}", case.file),
                None => case.file.clone(),
            };
            let requests = case.requests.len();
            let failed = case.requests.iter().filter(|r| !r.passed).count();
            let count = if failed == 0 {
                format!("{requests} request{}", if requests == 1 { "" } else { "s" })
            } else {
                format!(
                    "{failed} of {requests} request{} failed",
                    if requests == 1 { "" } else { "s" }
                )
            };
            let verdict = if case.passed { "PASS" } else { "FAIL" };
            writeln!(f, "{verdict} {place} {} ({count})", case.case)?;
            for request in case.requests.iter().filter(|r| !r.passed) {
                write_request(f, request, "  ")?;
            }
        }
        for warning in self
            .warnings
            .iter()
            .chain(self.cases.iter().flat_map(|c| &c.warnings))
        {
            writeln!(f, "warning: {warning}")?;
        }
        for warning in &self.configuration_warnings {
            writeln!(f, "{warning}")?;
        }
        let summary = self.summary();
        write!(
            f,
            "{} case{}: {} passed, {} failed ({} file{}, {} warning{})",
            summary.cases,
            if summary.cases == 1 { "" } else { "s" },
            summary.passed,
            summary.failed,
            summary.files,
            if summary.files == 1 { "" } else { "s" },
            summary.warnings,
            if summary.warnings == 1 { "" } else { "s" },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// XML 1.0 (§2.4, §2.2): markup characters escaped, characters outside `Char` replaced.
    #[test]
    fn xml_escapes_markup_and_drops_what_xml_forbids() {
        assert_eq!(
            xml("a<b>&\"c\"'d'\u{1}\te\n"),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;\u{FFFD}\te\n"
        );
    }
}

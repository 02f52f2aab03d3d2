//! How `meshroute` writes: the output formats (`-o text|json|yaml`, GitHub Actions annotations),
//! colour only where it helps (a terminal, unless `NO_COLOR` or `--color never`), and a closed
//! pipe that ends the command quietly.

use std::io::Write;
use std::process::ExitCode;

use meshroute::{Diagnostic, Severity};

/// `-o`: what a command prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Output {
    /// Words, for people.
    Text,
    /// JSON (one object per line where a command prints several).
    Json,
    /// YAML (one document per object).
    Yaml,
    /// GitHub Actions workflow commands (`::error file=…,line=…::…`), one per diagnostic
    /// (`check` only).
    Github,
    /// Markdown, for a pull-request comment (`diff` only).
    Markdown,
}

impl Output {
    /// The output a command prints: `json` when `--json` was given, and only one of the forms
    /// the command has (`accepted`); any other is a usage error naming them.
    pub(crate) fn of(
        self,
        json: bool,
        command: &str,
        accepted: &[Output],
    ) -> Result<Output, String> {
        let chosen = if json { Output::Json } else { self };
        if accepted.contains(&chosen) {
            return Ok(chosen);
        }
        let names: Vec<String> = accepted
            .iter()
            .filter_map(|o| clap::ValueEnum::to_possible_value(o).map(|v| v.get_name().to_owned()))
            .collect();
        Err(format!("{command} prints -o {}", names.join(", ")))
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Color {
    /// On a terminal, unless `NO_COLOR` is set (`CLICOLOR_FORCE` forces it).
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl Color {
    /// Applies the choice to every stream written through [`stdout`].
    pub(crate) fn apply(self) {
        let choice = match self {
            Color::Auto => anstream::ColorChoice::Auto,
            Color::Always => anstream::ColorChoice::Always,
            Color::Never => anstream::ColorChoice::Never,
        };
        choice.write_global();
    }
}

/// Standard output: styles are kept on a terminal and stripped elsewhere, as `--color` and
/// `NO_COLOR` say.
pub(crate) fn stdout() -> anstream::AutoStream<std::io::StdoutLock<'static>> {
    anstream::AutoStream::auto(std::io::stdout().lock())
}

/// Standard error, styled as [`stdout`] is.
pub(crate) fn stderr() -> anstream::AutoStream<std::io::StderrLock<'static>> {
    anstream::AutoStream::auto(std::io::stderr().lock())
}

/// The exit code when writing the output fails: a closed pipe (`meshroute … | head`) ends the
/// command quietly, with success; any other error is reported, exit status 2.
pub(crate) fn write_failed(error: &std::io::Error) -> ExitCode {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        ExitCode::SUCCESS
    } else {
        eprintln!("meshroute: cannot write the output: {error}");
        ExitCode::from(2)
    }
}

/// Writes `text` and a newline to standard output: [`write_failed`]'s code on failure.
pub(crate) fn print(text: &str) -> Result<(), ExitCode> {
    let mut out = stdout();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| write_failed(&e))
}

/// `value` as JSON on one line.
pub(crate) fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// `value` as a YAML document (block style; strings quoted as JSON strings where plain YAML
/// would read them otherwise, which YAML reads back unchanged).
pub(crate) fn yaml(value: &impl serde::Serialize) -> String {
    let value = serde_json::to_value(value).unwrap_or_default();
    let mut out = String::new();
    yaml_value(&value, 0, &mut out);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn yaml_value(value: &serde_json::Value, indent: usize, out: &mut String) {
    use serde_json::Value;
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                out.push_str(&pad);
                out.push_str(&yaml_scalar_text(key));
                out.push(':');
                yaml_nested(item, indent, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&pad);
                out.push('-');
                match item {
                    Value::Object(map) if !map.is_empty() => {
                        // `- key: value` with the rest of the mapping aligned under it.
                        let mut nested = String::new();
                        yaml_value(item, indent + 2, &mut nested);
                        out.push(' ');
                        out.push_str(nested.trim_start());
                    }
                    _ => yaml_nested(item, indent, out),
                }
            }
        }
        scalar => {
            out.push_str(&pad);
            out.push_str(&yaml_scalar(scalar));
            out.push('\n');
        }
    }
}

/// After `key:` or `-`: a scalar on the same line, a collection on the next lines.
fn yaml_nested(item: &serde_json::Value, indent: usize, out: &mut String) {
    use serde_json::Value;
    match item {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            yaml_value(item, indent + 2, out);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            yaml_value(item, indent + 2, out);
        }
        scalar => {
            out.push(' ');
            out.push_str(&yaml_scalar(scalar));
            out.push('\n');
        }
    }
}

fn yaml_scalar(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => yaml_scalar_text(s),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

/// A string as a YAML scalar: plain when YAML reads it back as the same string, else quoted.
fn yaml_scalar_text(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./@".contains(c))
        && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '_')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "~"
        );
    if plain {
        s.to_owned()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

/// One diagnostic as a GitHub Actions workflow command: `::error file=F,line=L,title=T::M`
/// (severity `info` is a `notice`), with the workflow-command escapes (`%`, CR, LF in the
/// message; also `:` and `,` in the properties).
pub(crate) fn github(diagnostic: &Diagnostic) -> String {
    let level = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let mut properties = Vec::new();
    if let Some(file) = &diagnostic.file {
        properties.push(format!("file={}", escape_property(file)));
    }
    if let Some(line) = diagnostic.line {
        properties.push(format!("line={line}"));
    }
    let mut title = String::from("meshroute");
    if let Some(code) = diagnostic.code {
        title = format!("meshroute {code}");
    }
    properties.push(format!("title={}", escape_property(&title)));
    let mut message = String::new();
    if let (Some(kind), Some(name)) = (&diagnostic.kind, &diagnostic.name) {
        message.push_str(&format!("{kind} {name}: "));
    }
    if !diagnostic.path.is_empty() {
        message.push_str(&format!("{}: ", diagnostic.path));
    }
    message.push_str(&diagnostic.message);
    format!(
        "::{level} {}::{}",
        properties.join(","),
        escape_data(&message)
    )
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Severity labels in colour, for a diagnostic line (`file:line: error[IST0101]: …`).
pub(crate) fn styled_diagnostic(diagnostic: &Diagnostic) -> String {
    let text = diagnostic.to_string();
    let (label, style) = match diagnostic.severity {
        Severity::Error => ("error", anstyle::AnsiColor::Red.on_default().bold()),
        Severity::Warning => ("warning", anstyle::AnsiColor::Yellow.on_default().bold()),
        Severity::Info => ("info", anstyle::AnsiColor::Cyan.on_default()),
    };
    // The label follows `file:line: ` (or starts the line).
    let at = text
        .find(&format!(": {label}"))
        .map(|i| i + 2)
        .filter(|_| !text.starts_with(label))
        .unwrap_or(0);
    if text.get(at..).is_some_and(|rest| rest.starts_with(label)) {
        let end = at + label.len();
        format!(
            "{}{style}{}{style:#}{}",
            text.get(..at).unwrap_or_default(),
            text.get(at..end).unwrap_or_default(),
            text.get(end..).unwrap_or_default()
        )
    } else {
        text
    }
}

/// The explain trace with the matched lines in green, decisions in bold and the details dim.
pub(crate) fn styled_trace(trace: &str) -> String {
    let green = anstyle::AnsiColor::Green.on_default();
    let bold = anstyle::Style::new().bold();
    let dim = anstyle::Style::new().dimmed();
    trace
        .lines()
        .map(|line| {
            let style = if line.ends_with(": MATCHED") {
                green
            } else if line.trim_start().starts_with("=>") {
                bold
            } else if line.starts_with("    ") {
                dim
            } else {
                return line.to_owned();
            };
            format!("{style}{line}{style:#}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_reads_back_as_the_json_it_came_from() {
        let value = serde_json::json!({
            "action": "route",
            "count": 3,
            "list": [{"a": 1, "b": "x y"}, "true", "", null, [1, 2], {}],
            "nested": {"k": {"deep": "10.1.0.5:8080"}, "empty": []},
            "odd key": "#comment",
        });
        let text = yaml(&value);
        let back: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, value, "{text}");
    }

    #[test]
    fn github_annotations_escape_their_properties_and_data() {
        let loaded = meshroute::from_str("- 1\n", &meshroute::LoadOptions::default());
        let mut d = loaded.diagnostics[0].clone();
        d.severity = Severity::Warning;
        d.message = "50%, then\nmore".into();
        (d.kind, d.name, d.code) = (None, None, None);
        d.file = Some("dir/a,b:c.yaml".into());
        d.line = Some(7);
        d.path = "spec.http[0]".into();
        assert_eq!(
            github(&d),
            "::warning file=dir/a%2Cb%3Ac.yaml,line=7,title=meshroute::spec.http[0]: 50%25, then%0Amore"
        );
    }
}

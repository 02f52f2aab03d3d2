//! The `meshroute` command-line tool: check Istio routing configuration offline.
//!
//! `meshroute check PATH...` loads and validates files or folders (`-` reads stdin).
//! Exit status: 0 no errors (warnings allowed), 1 errors (or warnings with `--deny-warnings`),
//! 2 unreadable input or bad arguments.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use meshroute::config::{Body, LoadOptions, Loaded};
use meshroute::{Diagnostic, Severity};

#[derive(Debug, Parser)]
#[command(
    name = "meshroute",
    version,
    about = "Istio routing decisions, offline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load and validate manifests; list what was loaded and every problem found.
    Check {
        /// Files or folders (searched recursively for *.yaml, *.yml, *.json); `-` for stdin.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print `{"diagnostics":[...]}` instead of text.
        #[arg(long)]
        json: bool,
        /// Exit 1 when there are warnings, not only errors.
        #[arg(long)]
        deny_warnings: bool,
        /// Namespace for resources that do not name one.
        #[arg(long, default_value = "default")]
        namespace: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            paths,
            json,
            deny_warnings,
            namespace,
        } => check(&paths, json, deny_warnings, &namespace),
    }
}

fn load(paths: &[PathBuf], namespace: &str) -> Result<Loaded, ExitCode> {
    let options = LoadOptions::default().default_namespace(namespace);
    let mut loaded = Loaded::default();
    for path in paths {
        match meshroute::from_path(path, &options) {
            Ok(more) => loaded.extend(more),
            Err(error) => {
                eprintln!("meshroute: {error}");
                return Err(ExitCode::from(2));
            }
        }
    }
    Ok(loaded)
}

fn check(paths: &[PathBuf], json: bool, deny_warnings: bool, namespace: &str) -> ExitCode {
    let loaded = match load(paths, namespace) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let mut diagnostics = loaded.diagnostics.clone();
    diagnostics.extend(meshroute::check(&loaded.resources));
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics.len() - errors;

    let mut out = std::io::stdout().lock();
    let written = if json {
        print_json(&mut out, &diagnostics)
    } else {
        print_human(&mut out, &loaded, &diagnostics, errors, warnings)
    };
    if written.is_err() {
        return ExitCode::from(2);
    }
    if errors > 0 || (deny_warnings && warnings > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_json(out: &mut impl std::io::Write, diagnostics: &[Diagnostic]) -> std::io::Result<()> {
    let list: Vec<serde_json::Value> = diagnostics
        .iter()
        .map(|d| {
            serde_json::json!({
                "severity": d.severity,
                "file": d.file,
                "line": d.line,
                "kind": d.kind,
                "name": d.name,
                "path": d.path,
                "message": d.message,
                "code": d.code,
            })
        })
        .collect();
    writeln!(out, "{}", serde_json::json!({ "diagnostics": list }))
}

fn print_human(
    out: &mut impl std::io::Write,
    loaded: &Loaded,
    diagnostics: &[Diagnostic],
    errors: usize,
    warnings: usize,
) -> std::io::Result<()> {
    let effective = meshroute::compile::effective(&loaded.resources);
    let mut files: Vec<&str> = loaded
        .resources
        .iter()
        .filter_map(|r| r.origin.file.as_deref())
        .collect();
    files.sort_unstable();
    files.dedup();
    writeln!(
        out,
        "loaded {} resource(s) from {} file(s):",
        loaded.resources.len(),
        files.len()
    )?;
    for resource in &loaded.resources {
        let at = match (&resource.origin.file, resource.origin.line) {
            (Some(file), Some(line)) => format!("{file}:{line}"),
            (Some(file), None) => file.to_string(),
            _ => String::new(),
        };
        let mut note = String::new();
        if matches!(resource.body, Body::Ignored { .. }) {
            note.push_str("  (ignored: meshroute does not route on this kind)");
        }
        let replaced_by = effective.iter().find(|r| {
            r.kind() == resource.kind() && r.key() == resource.key() && r.origin != resource.origin
        });
        if let Some(later) = replaced_by {
            let file = later.origin.file.as_deref().unwrap_or("");
            let line = later
                .origin
                .line
                .map(|l| format!(":{l}"))
                .unwrap_or_default();
            note.push_str(&format!(
                "  (replaced by the later definition at {file}{line})"
            ));
        }
        writeln!(
            out,
            "  {:<16} {:<40} {at}{note}",
            resource.kind(),
            resource.key()
        )?;
    }
    for diagnostic in diagnostics {
        writeln!(out, "{diagnostic}")?;
    }
    writeln!(out, "{errors} error(s), {warnings} warning(s)")
}

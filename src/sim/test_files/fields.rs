//! Reading a test document field by field: every key of a mapping is either read, or reported
//! (unknown, or not supported), each problem with the file, the case and the field path.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::Origin;
use crate::config::load::field_lines;
use crate::util::regex::{Refused, RegexBudget, build};

/// A problem in a test file: an error (the file cannot be run) or a warning (a key that is not
/// read), with the file, the line, the case and the field it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct Problem {
    pub(super) file: String,
    pub(super) line: Option<u32>,
    /// The case (`testCases[2] "description"`), when the problem is inside one.
    pub(super) case: Option<String>,
    /// The field path within the document (`testCases[2].request.uri[0]`).
    pub(super) field: String,
    pub(super) message: String,
}

impl fmt::Display for Problem {
    /// `file:line: case: field: message`, leaving out what is unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(case) = &self.case {
            write!(f, ": {case}")?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Where the problems of one document go: errors and warnings, located at the end. It also
/// keeps the regex budget of the whole read (`util/regex.rs`), so that test files full of
/// huge regexes cost little.
#[derive(Debug)]
pub(super) struct Sink<'b> {
    file: String,
    origin: Origin,
    /// The case being read, if any.
    case: Option<String>,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
    budget: &'b mut RegexBudget,
}

impl<'b> Sink<'b> {
    pub(super) fn new(file: &str, origin: &Origin, budget: &'b mut RegexBudget) -> Self {
        Self {
            file: file.to_owned(),
            origin: origin.clone(),
            case: None,
            errors: Vec::new(),
            warnings: Vec::new(),
            budget,
        }
    }

    /// `pattern` compiled as a full match of the value (Envoy's `safe_regex`, RE2 semantics),
    /// within the budget; an error at `path` when it does not compile or the budget is spent.
    pub(super) fn full_match_regex(&mut self, path: &str, pattern: &str) -> Option<regex::Regex> {
        let full = format!("^(?:{pattern})$");
        let refused = match self.budget.check(&full) {
            Ok(()) => return build(&full).ok(),
            Err(Refused::Invalid(error)) => format!("invalid regex: {error}"),
            Err(Refused::TooManyOversized | Refused::MemorySpent) => {
                "not compiled: the regexes of these test files already take all meshroute allows (util/regex.rs budget)".to_owned()
            }
        };
        self.error(path, refused);
        None
    }

    /// Problems reported from now on are about this case (`None`: the document).
    pub(super) fn case(&mut self, case: Option<String>) {
        self.case = case;
    }

    fn problem(&self, field: &str, message: String) -> Problem {
        Problem {
            file: self.file.clone(),
            line: None,
            case: self.case.clone(),
            field: field.to_owned(),
            message,
        }
    }

    pub(super) fn error(&mut self, field: &str, message: impl Into<String>) {
        let problem = self.problem(field, message.into());
        self.errors.push(problem);
    }

    pub(super) fn warn(&mut self, field: &str, message: impl Into<String>) {
        let problem = self.problem(field, message.into());
        self.warnings.push(problem);
    }

    /// The number of errors so far.
    pub(super) fn error_count(&self) -> usize {
        self.errors.len()
    }

    /// The errors and the warnings, each with the line of its field.
    pub(super) fn finish(self) -> (Vec<Problem>, Vec<Problem>) {
        let Self {
            origin,
            mut errors,
            mut warnings,
            ..
        } = self;
        let paths: Vec<String> = errors
            .iter()
            .chain(&warnings)
            .map(|p| p.field.clone())
            .collect();
        let lines = field_lines(&origin, &paths);
        for (problem, line) in errors.iter_mut().chain(warnings.iter_mut()).zip(lines) {
            problem.line = line;
        }
        (errors, warnings)
    }
}

/// `path.key` (or `key` at the top).
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// What a JSON value is, for messages.
pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// A mapping being read: the keys taken are remembered, so that [`Object::finish`] reports the
/// others.
#[derive(Debug)]
pub(super) struct Object<'v> {
    map: &'v Map<String, Value>,
    path: String,
    taken: Vec<&'static str>,
}

impl<'v> Object<'v> {
    /// `value` as a mapping at `path`; `null` reads as an empty mapping (unset, as protobuf's
    /// JSON mapping reads it). Anything else is an error.
    pub(super) fn of(value: &'v Value, path: &str, sink: &mut Sink<'_>) -> Option<Self> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        let map = match value {
            Value::Object(map) => map,
            Value::Null => EMPTY.get_or_init(Map::new),
            other => {
                sink.error(path, format!("expected a mapping, found {}", kind(other)));
                return None;
            }
        };
        Some(Self {
            map,
            path: path.to_owned(),
            taken: Vec::new(),
        })
    }

    /// The path of `key` in this mapping.
    pub(super) fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// Takes `key`; `None` when it is absent or `null` (unset).
    pub(super) fn take(&mut self, key: &'static str) -> Option<&'v Value> {
        self.taken.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Whether `key` is present (not `null`), without taking it.
    pub(super) fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }

    /// Takes `key` as a string.
    pub(super) fn string(&mut self, key: &'static str, sink: &mut Sink<'_>) -> Option<String> {
        let path = self.path_of(key);
        match self.take(key)? {
            Value::String(s) => Some(s.clone()),
            other => {
                sink.error(&path, format!("expected a string, found {}", kind(other)));
                None
            }
        }
    }

    /// Takes `key` as a boolean.
    pub(super) fn boolean(&mut self, key: &'static str, sink: &mut Sink<'_>) -> Option<bool> {
        let path = self.path_of(key);
        match self.take(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                sink.error(
                    &path,
                    format!("expected true or false, found {}", kind(other)),
                );
                None
            }
        }
    }

    /// Takes `key` as an unsigned integer: a number, or a string of digits (protobuf's JSON
    /// mapping writes 64-bit integers as strings).
    pub(super) fn unsigned(&mut self, key: &'static str, sink: &mut Sink<'_>) -> Option<u64> {
        let path = self.path_of(key);
        let value = self.take(key)?;
        let parsed = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        if parsed.is_none() {
            sink.error(
                &path,
                format!("expected an unsigned integer, found {value}"),
            );
        }
        parsed
    }

    /// Takes `key` as a list, each item with its path.
    pub(super) fn list(
        &mut self,
        key: &'static str,
        sink: &mut Sink<'_>,
    ) -> Option<Vec<(String, &'v Value)>> {
        let path = self.path_of(key);
        match self.take(key)? {
            Value::Array(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| (format!("{path}[{i}]"), item))
                    .collect(),
            ),
            other => {
                sink.error(&path, format!("expected a list, found {}", kind(other)));
                None
            }
        }
    }

    /// Takes `key` as a list of strings.
    pub(super) fn strings(
        &mut self,
        key: &'static str,
        sink: &mut Sink<'_>,
    ) -> Option<Vec<String>> {
        let items = self.list(key, sink)?;
        let mut out = Vec::with_capacity(items.len());
        for (path, item) in items {
            match item {
                Value::String(s) => out.push(s.clone()),
                other => sink.error(&path, format!("expected a string, found {}", kind(other))),
            }
        }
        Some(out)
    }

    /// Takes `key` as a mapping of strings to strings (other scalars keep their text, as a YAML
    /// `true` written where a string is meant).
    pub(super) fn string_map(
        &mut self,
        key: &'static str,
        sink: &mut Sink<'_>,
    ) -> Option<Vec<(String, String)>> {
        let path = self.path_of(key);
        let map = match self.take(key)? {
            Value::Object(map) => map,
            other => {
                sink.error(&path, format!("expected a mapping, found {}", kind(other)));
                return None;
            }
        };
        let mut out = Vec::with_capacity(map.len());
        for (name, value) in map {
            match value {
                Value::String(s) => out.push((name.clone(), s.clone())),
                Value::Bool(_) | Value::Number(_) => out.push((name.clone(), value.to_string())),
                other => sink.error(
                    &join(&path, name),
                    format!("expected a string, found {}", kind(other)),
                ),
            }
        }
        Some(out)
    }

    /// Reports every key not taken: those of `unsupported` (`(key, why)`) as not supported,
    /// the others as unknown. Neither is read.
    pub(super) fn finish(self, unsupported: &[(&str, &str)], sink: &mut Sink<'_>) {
        for key in self.map.keys() {
            if self.taken.iter().any(|t| t == key) {
                continue;
            }
            let path = join(&self.path, key);
            match unsupported.iter().find(|(k, _)| k == key) {
                Some((_, why)) => sink.warn(&path, format!("not supported, not checked: {why}")),
                None => sink.warn(
                    &path,
                    "unknown key, not read (typo or wrong indentation?)".to_owned(),
                ),
            }
        }
    }
}

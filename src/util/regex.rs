//! User regexes (`regex` string matches, `uriRegexRewrite`, CORS origins): the size limit of one
//! compiled regex and the budget of one load, so that a configuration full of huge regexes is
//! refused quickly instead of compiled slowly.
//!
//! Istio validates a regex by compiling it with Go's `regexp` (`validateStringRegexp` in
//! `pkg/config/validation/validation.go`) and Envoy compiles it with RE2, refusing programs
//! above `max_program_size` (`envoy/type/matcher/v3/regex.proto`, runtime
//! `re2.max_program_size.error_level`). meshroute compiles with Rust's `regex` crate and caps
//! one compiled regex at [`SIZE_LIMIT`] (4 MiB: `(a{1000}){1000}` is refused, `a{100000}` is
//! not). Each such refusal still costs a compile up to the limit (5 ms, 40 ms in a debug
//! build), and each accepted regex costs its size, so one load (one [`RegexBudget`], one
//! `check`) compiles at most:
//!
//! - [`OVERSIZED_BUDGET`] regexes that exceed the size limit, and
//! - regexes of [`MEMORY_BUDGET`] compiled bytes together (the sum of their
//!   `regex_automata::meta::Regex::memory_usage`, at most one regex beyond it),
//!
//! and refuses every later regex without compiling it, at its field, with an error that says
//! which budget is spent. A pattern seen before in the same load is not compiled again.

use std::collections::HashMap;

use regex_automata::util::syntax;
use regex_automata::{MatchKind, meta};

/// The largest compiled program of one regex, in bytes (the `regex` crate's `size_limit`).
/// `route/matcher.rs` `full_match_regex` compiles the full-match form of match regexes with the
/// same limit, written there.
pub(crate) const SIZE_LIMIT: usize = 1 << 22;

/// How many regexes above [`SIZE_LIMIT`] one load compiles before refusing the rest unseen.
pub(crate) const OVERSIZED_BUDGET: usize = 8;

/// The compiled bytes of the regexes of one load (128 MiB): a hundred of the largest Unicode
/// classes repeated twenty times (`\w{1,20}`, 1.1 MB each), or thousands of ordinary path
/// patterns (`^/api/v[0-9]+/.*`, 3 KB each).
pub(crate) const MEMORY_BUDGET: usize = 128 << 20;

/// Compiles `pattern` as meshroute compiles user regexes: Rust's `regex` with [`SIZE_LIMIT`].
pub(crate) fn build(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(SIZE_LIMIT)
        .build()
}

/// Why a regex was refused.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Refused {
    /// It does not compile: its syntax, or its size above [`SIZE_LIMIT`] (the `regex` crate's
    /// error, whose text is the message).
    Invalid(regex::Error),
    /// It was not compiled: [`OVERSIZED_BUDGET`] regexes of this load already exceeded the
    /// size limit.
    TooManyOversized,
    /// It was not compiled: the regexes of this load already take [`MEMORY_BUDGET`].
    MemorySpent,
}

/// What one load's regexes have cost so far (see the module docs).
#[derive(Debug)]
pub(crate) struct RegexBudget {
    /// Compiled bytes the accepted regexes may take ([`MEMORY_BUDGET`]).
    memory_budget: usize,
    /// Compiled bytes of the accepted regexes.
    memory: usize,
    /// Regexes refused for exceeding the size limit.
    oversized: usize,
    /// The verdict on every pattern compiled so far.
    seen: HashMap<String, Result<(), regex::Error>>,
}

impl Default for RegexBudget {
    fn default() -> Self {
        Self {
            memory_budget: MEMORY_BUDGET,
            memory: 0,
            oversized: 0,
            seen: HashMap::new(),
        }
    }
}

impl RegexBudget {
    /// Checks `pattern` the way [`build`] compiles it, within the budget: `Ok` when it
    /// compiles. The same pattern twice costs once.
    pub(crate) fn check(&mut self, pattern: &str) -> Result<(), Refused> {
        if let Some(verdict) = self.seen.get(pattern) {
            return verdict.clone().map_err(Refused::Invalid);
        }
        if self.oversized >= OVERSIZED_BUDGET {
            return Err(Refused::TooManyOversized);
        }
        if self.memory >= self.memory_budget {
            return Err(Refused::MemorySpent);
        }
        let verdict = match meta_build(pattern) {
            Ok(regex) => {
                self.memory = self.memory.saturating_add(regex.memory_usage());
                Ok(())
            }
            Err(error) => {
                if matches!(error, regex::Error::CompiledTooBig(_)) {
                    self.oversized += 1;
                }
                Err(error)
            }
        };
        self.seen.insert(pattern.to_owned(), verdict.clone());
        verdict.map_err(Refused::Invalid)
    }
}

/// [`build`], one layer down: the `regex` crate's `RegexBuilder::build` for one pattern
/// (`regex` 1.x `src/builders.rs`: `Builder::default`, `size_limit`, `build_one_string`), so
/// that the compiled size is known. `build_matches_the_regex_crate` checks that both accept
/// the same patterns.
fn meta_build(pattern: &str) -> Result<meta::Regex, regex::Error> {
    let config = meta::Config::new()
        .nfa_size_limit(Some(SIZE_LIMIT))
        .hybrid_cache_capacity(2 * (1 << 20))
        .match_kind(MatchKind::LeftmostFirst)
        .utf8_empty(true);
    meta::Builder::new()
        .configure(config)
        .syntax(syntax::Config::default().utf8(true))
        .build(pattern)
        .map_err(|error| regex_error(&error))
}

/// The `regex` crate's error for a build error (`Error::from_meta_build_error`).
fn regex_error(error: &meta::BuildError) -> regex::Error {
    if let Some(limit) = error.size_limit() {
        regex::Error::CompiledTooBig(limit)
    } else if let Some(syntax) = error.syntax_error() {
        regex::Error::Syntax(syntax.to_string())
    } else {
        regex::Error::Syntax(error.to_string())
    }
}

/// Whether the full-match regex `pattern` may match the empty string, read from its syntax
/// tree without compiling it: `false` when every match is at least one character long (or it
/// matches nothing), `true` otherwise, and for a pattern that does not parse. Exact unless the
/// pattern has word-boundary assertions (`\b`, `\B`), where `true` may be an overstatement.
pub(crate) fn may_match_empty(pattern: &str) -> bool {
    syntax::parse(pattern).map_or(true, |hir| hir.properties().minimum_len() == Some(0))
}

/// Envoy's `\\1` capture references (`RegexMatchAndSubstitute.substitution`, what Istio's
/// `uriRegexRewrite.rewrite` becomes) in the regex crate's `${1}` syntax, `$` escaped.
pub(crate) fn envoy_replacement(rewrite: &str) -> String {
    let mut out = String::with_capacity(rewrite.len());
    let mut chars = rewrite.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push_str("${");
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    out.push(d);
                    chars.next();
                }
                out.push('}');
            }
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The budget's compile accepts exactly what `regex::RegexBuilder` with the same size limit
    /// accepts, with the same message: on both sides of the size limit for a byte and a large
    /// Unicode class, and for a syntax error.
    #[test]
    fn build_matches_the_regex_crate() {
        for pattern in [
            "a{131065}",
            "a{131066}",
            r"\w{83}",
            r"\w{84}",
            "(a{1000}){1000}",
            "^/api/v[0-9]+/.*$",
            "a)(b",
            "(?P<x>a)(?P<x>b)",
        ] {
            let ours = meta_build(pattern).map(|_| ());
            let theirs = build(pattern).map(|_| ());
            assert_eq!(ours, theirs, "{pattern}");
        }
        assert!(build("a{131065}").is_ok() && build("a{131066}").is_err());
    }

    /// After eight regexes over the size limit, later ones are refused without compiling; a
    /// pattern seen before keeps its verdict, and good regexes seen before still pass.
    #[test]
    fn oversized_regexes_are_counted() {
        let mut budget = RegexBudget::default();
        assert_eq!(budget.check("/ok"), Ok(()));
        for i in 0..OVERSIZED_BUDGET {
            let pattern = format!("(a{{1000}}){{{}}}", 1000 + i);
            assert!(
                matches!(
                    budget.check(&pattern),
                    Err(Refused::Invalid(regex::Error::CompiledTooBig(SIZE_LIMIT)))
                ),
                "{pattern}"
            );
        }
        assert_eq!(
            budget.check("(b{1000}){1000}"),
            Err(Refused::TooManyOversized)
        );
        assert_eq!(budget.check("/other"), Err(Refused::TooManyOversized));
        assert_eq!(budget.check("/ok"), Ok(()));
        assert!(matches!(
            budget.check("(a{1000}){1000}"),
            Err(Refused::Invalid(_))
        ));
    }

    /// Accepted regexes add up to the memory budget (here 1 MiB); then nothing new is
    /// compiled.
    #[test]
    fn compiled_bytes_are_counted() {
        let mut budget = RegexBudget {
            memory_budget: 1 << 20,
            ..RegexBudget::default()
        };
        let mut accepted = 0;
        for i in 0..100 {
            match budget.check(&format!("a{{{}}}", 3000 + i)) {
                Ok(()) => accepted += 1,
                Err(refused) => {
                    assert_eq!(refused, Refused::MemorySpent);
                    break;
                }
            }
        }
        // `a{3000}` compiles to about 140 KB.
        assert!((5..=10).contains(&accepted), "{accepted}");
        assert!(budget.memory >= 1 << 20);
    }

    /// Empty matches, read from the syntax tree.
    #[test]
    fn empty_matches_from_the_syntax() {
        for (pattern, empty) in [
            (".*", true),
            ("a*", true),
            ("(a|)", true),
            ("^$", true),
            ("a", false),
            (".+", false),
            ("a{2,}|b", false),
            ("[^\\s\\S]", false),
            ("(", true),
            ("(a{1000}){1000}", false),
        ] {
            assert_eq!(may_match_empty(pattern), empty, "{pattern}");
            if let Ok(regex) = build(&format!("^(?:{pattern})$")) {
                if !empty {
                    assert!(!regex.is_match(""), "{pattern}");
                }
            }
        }
    }

    #[test]
    fn envoy_capture_references_translate() {
        assert_eq!(
            envoy_replacement("/customprefix/\\2/\\1"),
            "/customprefix/${2}/${1}"
        );
        assert_eq!(envoy_replacement("/a$b"), "/a$$b");
    }
}

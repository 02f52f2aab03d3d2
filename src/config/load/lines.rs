//! Finding the line of a field: a diagnostic names a path (`spec.http[0].route`), the user wants
//! `file:line`.

use std::borrow::Cow;
use std::fmt::Write as _;

use rustc_hash::FxHashMap as HashMap;

use super::super::meta::Origin;
use crate::diagnostic::Diagnostic;

/// Fills in the line of each diagnostic from the field its path names in `origin`'s text.
///
/// The cost is one pass over the document's parser events plus work proportional to the
/// diagnostics' paths: only the nodes on the way to a path a diagnostic names are followed, and
/// no node's path is ever written out.
pub(crate) fn locate_in(origin: &Origin, diagnostics: &mut [Diagnostic]) {
    let Some(text) = &origin.text else {
        return;
    };
    if diagnostics.is_empty() {
        return;
    }
    let start = origin.text_line;
    let found: Vec<Option<u32>> = {
        let lines = field_lines(text, diagnostics.iter().map(|d| d.path.as_str()));
        diagnostics
            .iter()
            .map(|d| nearest_line(&lines, &d.path))
            .collect()
    };
    for (diagnostic, line) in diagnostics.iter_mut().zip(found) {
        if let Some(line) = line {
            diagnostic.line = Some(start + line.saturating_sub(1));
        }
    }
}

/// The line of `path`, or of its nearest ancestor present in the text: a missing field is
/// reported at its parent.
fn nearest_line(lines: &HashMap<&str, u32>, path: &str) -> Option<u32> {
    let mut path = path;
    loop {
        if let Some(&line) = lines.get(path) {
            return Some(line);
        }
        let cut = path.rfind(['.', '['])?;
        path = path.get(..cut)?;
    }
}

/// The ancestors of each path the caller asks about (`spec.http[0]` and `spec` for
/// `spec.http[0].route`, each cut at a `.` or `[` as [`nearest_line`] cuts them) and the paths
/// themselves, looked up by a hash that extends segment by segment, so that a node's path is
/// recognised from its parent's without being written out.
struct Targets<'p> {
    /// Each target with whether a caller asked about it (rather than only about a descendant).
    by_hash: HashMap<u64, Vec<(&'p str, bool)>>,
    /// Whether the document's root (the empty path) is a target.
    has_root: bool,
    /// How many distinct paths the caller asked about.
    asked: usize,
}

/// FNV-1a, which hashes a concatenation by continuing from the hash of its first part.
fn extend_hash(mut hash: u64, bytes: &[u8]) -> u64 {
    for &byte in bytes {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

const EMPTY_HASH: u64 = 0xcbf2_9ce4_8422_2325;

impl<'p> Targets<'p> {
    fn new(paths: impl Iterator<Item = &'p str>) -> Self {
        let mut by_hash: HashMap<u64, Vec<(&'p str, bool)>> = HashMap::default();
        let mut has_root = false;
        let mut asked = 0;
        for path in paths {
            let mut path = path;
            let mut own = true;
            loop {
                has_root |= path.is_empty();
                let list = by_hash
                    .entry(extend_hash(EMPTY_HASH, path.as_bytes()))
                    .or_default();
                if let Some((_, was_asked)) = list.iter_mut().find(|(p, _)| *p == path) {
                    if own && !*was_asked {
                        *was_asked = true;
                        asked += 1;
                    }
                    // Its ancestors are in too.
                    break;
                }
                list.push((path, own));
                asked += usize::from(own);
                own = false;
                match path.rfind(['.', '[']).and_then(|cut| path.get(..cut)) {
                    Some(parent) => path = parent,
                    None => break,
                }
            }
        }
        Self {
            by_hash,
            has_root,
            asked,
        }
    }

    /// The target whose text is `parent` + `sep` + `tail`, with its hash and whether it was
    /// asked about, if there is one.
    fn child(
        &self,
        parent: &str,
        parent_hash: u64,
        sep: &str,
        tail: &str,
    ) -> Option<(&'p str, u64, bool)> {
        let hash = extend_hash(extend_hash(parent_hash, sep.as_bytes()), tail.as_bytes());
        let (found, asked) = self.by_hash.get(&hash)?.iter().find(|(target, _)| {
            target
                .strip_prefix(parent)
                .and_then(|rest| rest.strip_prefix(sep))
                == Some(tail)
        })?;
        Some((found, hash, *asked))
    }
}

/// Maps each of `paths` (field paths such as `spec.http[0].route`) and each of their ancestors
/// that is present in a YAML document to the one-based line (within the document) of its key, or
/// of the item for sequence elements.
///
/// A node's path is its parent's and its key joined by a `.` (none after the empty root path),
/// or its index in brackets (`spec.http[0]`); a key holding a dot (`app.kubernetes.io/name`) is
/// found under the path that names it. Subtrees off the way to every path are skipped with a
/// depth count; the memory used is that of the result and of the nesting on the way to a target.
fn field_lines<'p>(text: &str, paths: impl Iterator<Item = &'p str>) -> HashMap<&'p str, u32> {
    use serde_saphyr::granit_parser::{Event, Parser};

    enum Kind<'t> {
        /// A mapping, and where it is between its keys and values.
        Map {
            key: Key<'t>,
        },
        Seq {
            index: usize,
        },
    }
    enum Key<'t> {
        /// The next node is a key.
        Awaited,
        /// The next node is the value of this key, which is on this line.
        Named(Cow<'t, str>, u32),
        /// The next node is the value of a key that is not a string (`? [a, b]`, an alias): no
        /// path names it.
        Unnamed,
    }
    /// A container on the way to a target: its own path (a target's ancestor) and its hash.
    struct Frame<'t, 'p> {
        kind: Kind<'t>,
        path: &'p str,
        hash: u64,
    }
    fn advance(stack: &mut [Frame<'_, '_>]) {
        match stack.last_mut().map(|f| &mut f.kind) {
            Some(Kind::Map { key }) => *key = Key::Awaited,
            Some(Kind::Seq { index }) => *index += 1,
            None => {}
        }
    }

    let targets = Targets::new(paths);
    let mut out: HashMap<&'p str, u32> = HashMap::default();
    // Paths asked about and not found yet: the walk stops when none is left.
    let mut missing = targets.asked;
    let root_asked = targets
        .child("", EMPTY_HASH, "", "")
        .is_some_and(|(_, _, asked)| asked);
    let mut stack: Vec<Frame<'_, 'p>> = Vec::new();
    // Nesting inside a container off the way to every target (0: not in one), and whether that
    // container is a mapping key.
    let mut skipping = 0usize;
    let mut skipping_key = false;
    let mut index_text = String::new();
    let parser = Parser::new_from_str(text);
    for event in parser.take(4_000_000) {
        let Ok((event, span)) = event else { break };
        let line = u32::try_from(span.start.line()).unwrap_or(u32::MAX);
        let opens = matches!(event, Event::MappingStart(..) | Event::SequenceStart(..));
        let closes = matches!(event, Event::MappingEnd | Event::SequenceEnd);
        let is_node = opens || matches!(event, Event::Scalar(..) | Event::Alias(_));
        if skipping > 0 {
            if opens {
                skipping += 1;
            } else if closes {
                skipping -= 1;
                if skipping == 0 && !std::mem::take(&mut skipping_key) {
                    advance(&mut stack);
                }
            }
            continue;
        }
        if closes {
            stack.pop();
            advance(&mut stack);
            continue;
        }
        if !is_node {
            continue;
        }
        // The node's own path among the targets, and the line to give it.
        let (found, node_line) = match stack.last_mut() {
            // The document's root (path ``) is on the way to every target, and is one itself
            // when a diagnostic is about the whole document.
            None => (Some(("", EMPTY_HASH, root_asked)), line),
            Some(frame) => {
                let (sep, tail, node_line) = match &mut frame.kind {
                    Kind::Map {
                        key: slot @ Key::Awaited,
                    } => {
                        // A scalar in key position names the next value; any other key is
                        // skipped.
                        if let Event::Scalar(key, ..) = event {
                            *slot = Key::Named(key, line);
                        } else {
                            *slot = Key::Unnamed;
                            if opens {
                                skipping = 1;
                                skipping_key = true;
                            }
                        }
                        continue;
                    }
                    Kind::Map { key: Key::Unnamed } => {
                        if opens {
                            skipping = 1;
                        } else {
                            advance(&mut stack);
                        }
                        continue;
                    }
                    Kind::Map {
                        key: Key::Named(key, key_line),
                    } => {
                        let sep = if frame.path.is_empty() || key.is_empty() || key.starts_with('[')
                        {
                            ""
                        } else {
                            "."
                        };
                        (sep, &**key, *key_line)
                    }
                    Kind::Seq { index } => {
                        index_text.clear();
                        let _ = write!(index_text, "[{index}]");
                        ("", index_text.as_str(), line)
                    }
                };
                (targets.child(frame.path, frame.hash, sep, tail), node_line)
            }
        };
        if let Some((path, _, asked)) = found {
            if !path.is_empty() || targets.has_root {
                if let std::collections::hash_map::Entry::Vacant(entry) = out.entry(path) {
                    entry.insert(node_line);
                    missing = missing.saturating_sub(usize::from(asked));
                    if missing == 0 {
                        break;
                    }
                }
            }
        }
        match (event, found) {
            (Event::MappingStart(..), Some((path, hash, _))) => stack.push(Frame {
                kind: Kind::Map { key: Key::Awaited },
                path,
                hash,
            }),
            (Event::SequenceStart(..), Some((path, hash, _))) => stack.push(Frame {
                kind: Kind::Seq { index: 0 },
                path,
                hash,
            }),
            (Event::MappingStart(..) | Event::SequenceStart(..), None) => skipping = 1,
            _ => advance(&mut stack),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_lines_follow_keys_and_items() {
        let text = "spec:\n  http:\n  - match:\n    - uri:\n        exact: /a\n  - route:\n    - destination:\n        host: b\n      weight: 3\n";
        let paths = [
            "spec.http[0].match[0].uri.exact",
            "spec.http[1].route[0].weight",
            "spec.http[1]",
        ];
        let lines = field_lines(text, paths.into_iter());
        assert_eq!(lines.get("spec"), Some(&1));
        assert_eq!(lines.get("spec.http[0].match[0].uri.exact"), Some(&5));
        assert_eq!(lines.get("spec.http[1].route[0].weight"), Some(&9));
        assert_eq!(lines.get("spec.http[1]"), Some(&6));
    }

    /// The previous implementation, which maps every node of the document: the oracle.
    fn every_field_line(text: &str) -> std::collections::HashMap<String, u32> {
        use serde_saphyr::granit_parser::{Event, Parser};

        enum Frame {
            Map { key: Option<(String, u32)> },
            Seq { index: usize },
        }
        let mut out = std::collections::HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut paths: Vec<String> = Vec::new();
        let parser = Parser::new_from_str(text);
        for event in parser.take(4_000_000) {
            let Ok((event, span)) = event else { break };
            let line = u32::try_from(span.start.line()).unwrap_or(u32::MAX);
            let is_node = matches!(
                event,
                Event::Scalar(..)
                    | Event::MappingStart(..)
                    | Event::SequenceStart(..)
                    | Event::Alias(_)
            );
            if is_node {
                // A scalar in key position names the next value.
                if let (Some(Frame::Map { key }), Event::Scalar(text, ..)) =
                    (stack.last_mut(), &event)
                {
                    if key.is_none() {
                        *key = Some((text.to_string(), line));
                        continue;
                    }
                }
                let parent = paths.last().map(String::as_str).unwrap_or("");
                let (path, node_line) = match stack.last() {
                    Some(Frame::Map {
                        key: Some((key, key_line)),
                    }) => (join(parent, key), *key_line),
                    Some(Frame::Seq { index }) => (format!("{parent}[{index}]"), line),
                    _ => (String::new(), line),
                };
                out.entry(path.clone()).or_insert(node_line);
                match event {
                    Event::MappingStart(..) => {
                        stack.push(Frame::Map { key: None });
                        paths.push(path);
                    }
                    Event::SequenceStart(..) => {
                        stack.push(Frame::Seq { index: 0 });
                        paths.push(path);
                    }
                    _ => advance(&mut stack),
                }
            } else if matches!(event, Event::MappingEnd | Event::SequenceEnd) {
                stack.pop();
                paths.pop();
                advance(&mut stack);
            }
        }
        fn advance(stack: &mut [Frame]) {
            match stack.last_mut() {
                Some(Frame::Map { key }) => *key = None,
                Some(Frame::Seq { index }) => *index += 1,
                None => {}
            }
        }
        out
    }
    fn join(prefix: &str, path: &str) -> String {
        match (prefix.is_empty(), path.is_empty()) {
            (true, _) => path.to_owned(),
            (false, true) => prefix.to_owned(),
            (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
            (false, false) => format!("{prefix}.{path}"),
        }
    }

    /// A key that is not a string is skipped with its value; the keys after it keep their
    /// paths (the whole-document mapping took the value for a key).
    #[test]
    fn keys_that_are_not_strings_are_skipped() {
        let text = "a: &x 1\n? [k, {b: 2}]\n: {b: 3}\n*x : 4\nb: 5\nc: [6]\n";
        let lines = field_lines(text, ["b", "c[0]", "k"].into_iter());
        assert_eq!(lines.get("b"), Some(&5));
        assert_eq!(lines.get("c[0]"), Some(&6));
        assert_eq!(lines.get("k"), None);
    }

    /// Every path of the fixtures (and paths missing from them, which fall back to their nearest
    /// ancestor) gets the line the whole-document mapping gives it, dotted keys included.
    #[test]
    fn lines_agree_with_the_whole_document_mapping() {
        let fixtures = [
            include_str!("../../../tests/fixtures/every-field.yaml"),
            "metadata:\n  labels:\n    app.kubernetes.io/name: a\n    '[x]': 1\n    '': 2\nspec:\n  x: [[1, {a.b: [2, 3]}], &y z, *y]\n",
            "- a\n- [b, c]\n- {d: e}\n",
        ];
        for text in fixtures {
            for doc in text.split("\n---\n") {
                let all = every_field_line(doc);
                let mut paths: Vec<String> = all.keys().cloned().collect();
                paths.extend(all.keys().map(|p| format!("{p}.missing[3].field")));
                paths.push(String::new());
                paths.push("[0]".to_owned());
                paths.sort();
                let oracle = |path: &str| {
                    let mut path = path;
                    loop {
                        if let Some(line) = all.get(path) {
                            return Some(*line);
                        }
                        path = path.get(..path.rfind(['.', '['])?)?;
                    }
                };
                // All at once, and each alone.
                let lines = field_lines(doc, paths.iter().map(String::as_str));
                for path in &paths {
                    assert_eq!(
                        nearest_line(&lines, path),
                        oracle(path),
                        "{path:?} in {doc}"
                    );
                    let alone = field_lines(doc, std::iter::once(path.as_str()));
                    assert_eq!(nearest_line(&alone, path), oracle(path), "{path:?} alone");
                }
            }
        }
    }
}

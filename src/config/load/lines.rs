//! Finding the line of a field: a diagnostic names a path (`spec.http[0].route`), the user wants
//! `file:line`.

use std::collections::HashMap;

use super::super::meta::Origin;
use crate::diagnostic::Diagnostic;

/// Fills in the line of each diagnostic from the field its path names in `origin`'s text.
pub(crate) fn locate_in(origin: &Origin, diagnostics: &mut [Diagnostic]) {
    let Some(text) = &origin.text else {
        return;
    };
    let start = origin.text_line;
    if diagnostics.is_empty() {
        return;
    }
    let lines = field_lines(text);
    for diagnostic in diagnostics {
        // The nearest ancestor present in the text: a missing field is reported at its parent.
        let mut path = diagnostic.path.as_str();
        loop {
            if let Some(line) = lines.get(path) {
                diagnostic.line = Some(start + line.saturating_sub(1));
                break;
            }
            match path.rfind(['.', '[']) {
                Some(cut) => path = path.get(..cut).unwrap_or_default(),
                None => break,
            }
        }
    }
}

/// Maps the path of every node in a YAML document (`spec.http[0].route`) to the one-based line
/// (within the document) of its key, or of the item for sequence elements.
fn field_lines(text: &str) -> HashMap<String, u32> {
    use serde_saphyr::granit_parser::{Event, Parser};

    enum Frame {
        Map { key: Option<(String, u32)> },
        Seq { index: usize },
    }
    let mut out = HashMap::new();
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
            if let (Some(Frame::Map { key }), Event::Scalar(text, ..)) = (stack.last_mut(), &event)
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

/// Joins a field path: `spec` + `http` is `spec.http`, `http` + `[0]` is `http[0]`.
pub(crate) fn join(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
        (false, false) => format!("{prefix}.{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_lines_follow_keys_and_items() {
        let text = "spec:\n  http:\n  - match:\n    - uri:\n        exact: /a\n  - route:\n    - destination:\n        host: b\n      weight: 3\n";
        let lines = field_lines(text);
        assert_eq!(lines.get("spec"), Some(&1));
        assert_eq!(lines.get("spec.http[0].match[0].uri.exact"), Some(&5));
        assert_eq!(lines.get("spec.http[1].route[0].weight"), Some(&9));
        assert_eq!(lines.get("spec.http[1]"), Some(&6));
    }
}

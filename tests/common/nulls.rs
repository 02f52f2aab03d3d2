//! Documents with some object members set to `null`, and the same documents with those members
//! removed: the two must load identically (`null` is unset).
//!
//! Members are numbered in document order (pre-order, every object member at any depth, map
//! entries and members of list items included). [`Edits`] names the members to change.

use std::collections::BTreeMap;

use serde_json::Value;

/// The members to edit, by number, each with the way its `null` is written in YAML:
/// 0 `key:` (nothing after it), 1 `key: ~`, 2 `key: null`.
pub type Edits = BTreeMap<usize, u8>;

/// The number of object members in `value`, at any depth.
pub fn count_members(value: &Value) -> usize {
    match value {
        Value::Object(map) => map.values().map(|v| 1 + count_members(v)).sum(),
        Value::Array(items) => items.iter().map(count_members).sum(),
        _ => 0,
    }
}

/// The numbers of the members at the top level of `value` named in `names` (to keep them out of
/// the edits).
pub fn top_level(value: &Value, names: &[&str]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut number = 0;
    if let Value::Object(map) = value {
        for (key, member) in map {
            if names.contains(&key.as_str()) {
                out.push(number);
            }
            number += 1 + count_members(member);
        }
    }
    out
}

/// `value` with the edited members set to `null` (`remove == false`) or removed.
pub fn edited(value: &Value, edits: &Edits, remove: bool) -> Value {
    let mut number = 0;
    edit(value, edits, remove, &mut number)
}

fn edit(value: &Value, edits: &Edits, remove: bool, number: &mut usize) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (key, member) in map {
                let this = *number;
                *number += 1;
                if edits.contains_key(&this) {
                    *number += count_members(member);
                    if !remove {
                        out.insert(key.clone(), Value::Null);
                    }
                    continue;
                }
                out.insert(key.clone(), edit(member, edits, remove, number));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| edit(item, edits, remove, number))
                .collect(),
        ),
        scalar => scalar.clone(),
    }
}

/// `value` as block-style YAML, the edited members written as `null` (in the edit's style) or,
/// with `remove`, as a comment on the same line, so that both texts have the same line numbers.
pub fn to_yaml(value: &Value, edits: &Edits, remove: bool) -> String {
    let mut out = String::new();
    let mut number = 0;
    if let Value::Object(map) = value {
        members(map, 0, edits, remove, &mut number, &mut out);
    }
    out
}

/// Whether every member of `map` (whose first member is numbered `number`) is edited.
fn all_edited(map: &serde_json::Map<String, Value>, edits: &Edits, number: usize) -> bool {
    let mut at = number;
    map.values().all(|member| {
        let edited = edits.contains_key(&at);
        at += 1 + count_members(member);
        edited
    })
}

fn members(
    map: &serde_json::Map<String, Value>,
    indent: usize,
    edits: &Edits,
    remove: bool,
    number: &mut usize,
    out: &mut String,
) {
    let pad = " ".repeat(indent);
    for (key, member) in map {
        let this = *number;
        *number += 1;
        let key = serde_json::to_string(key).unwrap();
        if let Some(style) = edits.get(&this) {
            *number += count_members(member);
            if remove {
                out.push_str(&format!("{pad}# {key} removed\n"));
            } else {
                let null = ["", " ~", " null"][usize::from(*style % 3)];
                out.push_str(&format!("{pad}{key}:{null}\n"));
            }
            continue;
        }
        value(
            &format!("{pad}{key}:"),
            member,
            indent + 2,
            edits,
            remove,
            number,
            out,
        );
    }
}

/// Writes `member` after `head` (`key:` or `-`).
fn value(
    head: &str,
    member: &Value,
    indent: usize,
    edits: &Edits,
    remove: bool,
    number: &mut usize,
    out: &mut String,
) {
    match member {
        Value::Object(map) if !map.is_empty() => {
            // With every member removed, what is left is an empty object, not nothing.
            if remove && all_edited(map, edits, *number) {
                out.push_str(&format!("{head} {{}}\n"));
            } else {
                out.push_str(&format!("{head}\n"));
            }
            members(map, indent, edits, remove, number, out);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str(&format!("{head}\n"));
            let pad = " ".repeat(indent);
            for item in items {
                value(
                    &format!("{pad}-"),
                    item,
                    indent + 2,
                    edits,
                    remove,
                    number,
                    out,
                );
            }
        }
        scalar => out.push_str(&format!(
            "{head} {}\n",
            serde_json::to_string(scalar).unwrap()
        )),
    }
}

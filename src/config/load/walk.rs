//! From a manifest's `serde_json::Value` to a typed model, read the way Kubernetes and Istio read
//! it, with every problem found and named by its field path.
//!
//! - **`null` is unset.** An object member whose value is `null` (YAML `match:` with nothing
//!   after it, `retries: ~`, `headers: {x-a: null}`) is skipped as if it were absent: protobuf's
//!   JSON mapping treats `null` as the field's default value
//!   (<https://protobuf.dev/programming-guides/json/>: "null is an accepted value for all field
//!   types and treated as the default value of the corresponding field type"), Istio's decoder
//!   (`pkg/util/protomarshal`, golang/protobuf `jsonpb`) skips null fields, and the Kubernetes API
//!   server prunes null members, map values included, before Istio sees the object
//!   (apiextensions-apiserver `structuraldefaulting.PruneNonNullableNullsWithoutDefaults`).
//! - **A `null` list item is an error** in Istio resources (`hosts: [a, null]`, a dangling
//!   `- `): the API server prunes null *members* only and then rejects the item ("must be of
//!   type string"), and protobuf's own JSON parser (`protojson`) rejects it too. Kubernetes kinds
//!   pass it to the model unchanged.
//! - **Unknown fields** are the members a struct does not declare (serde's field list), `null`
//!   or not: they are skipped and reported, as `kubectl apply --validate=strict` rejects them.
//! - **Every wrong value is reported.** A value of the wrong type fails the deserialization; the
//!   walk records the path of the node that failed, leaves that node out and starts again, until
//!   the document deserializes or [`MAX_ERRORS`] errors are found.

use std::cell::Cell;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

use serde::Deserializer;
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{DeserializeOwned, DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Error, Value};

/// The most errors reported for one document; a document with more is cut short with a note.
pub(super) const MAX_ERRORS: usize = 50;

/// How strictly to read a value.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mode {
    /// Skip and report members a struct does not declare (Istio resources); otherwise they are
    /// passed to the model, which ignores them or keeps them in a catch-all map.
    pub(super) report_unknown: bool,
    /// A `null` list item is an error (Istio resources); otherwise it is passed to the model.
    pub(super) strict_items: bool,
}

impl Mode {
    /// Istio resources: their schema is the CRD's, checked strictly.
    pub(super) const ISTIO: Mode = Mode {
        report_unknown: true,
        strict_items: true,
    };
    /// Kubernetes kinds and metadata: only the fields meshroute reads are modelled.
    pub(super) const KUBERNETES: Mode = Mode {
        report_unknown: false,
        strict_items: false,
    };
}

/// What [`typed`] found.
#[derive(Debug)]
pub(super) struct Typed<T> {
    /// The value, when the document has no wrong value (unknown fields aside).
    pub(super) value: Option<T>,
    /// `(path, message)` of each wrong value, in the order found.
    pub(super) errors: Vec<(String, String)>,
    /// The path of each unknown field (only with [`Mode::report_unknown`]).
    pub(super) unknown: Vec<String>,
}

/// Deserializes `value` as `T` under `mode`. Paths start with `prefix` (`spec`).
pub(super) fn typed<T: DeserializeOwned>(value: &Value, prefix: &str, mode: Mode) -> Typed<T> {
    let empty = Value::Object(serde_json::Map::new());
    let value = if value.is_null() { &empty } else { value };
    let root = Path::root(prefix);
    let mut excluded = Excluded::default();
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    loop {
        let state = State {
            mode,
            excluded: &excluded,
            failed_at: Cell::new(None),
            unknown: Cell::new(Vec::new()),
        };
        let result = T::deserialize(Node {
            value,
            path: &root,
            state: &state,
        });
        for path in state.unknown.take() {
            if !unknown.contains(&path) {
                unknown.push(path);
            }
        }
        let error = match result {
            Ok(value) => {
                let value = errors.is_empty().then_some(value);
                return Typed {
                    value,
                    errors,
                    unknown,
                };
            }
            Err(error) => error,
        };
        let (path, hash) = state
            .failed_at
            .take()
            .unwrap_or_else(|| (root.render(), root.hash));
        errors.push((path.clone(), error.to_string()));
        // The root cannot be left out, and a node that fails again would fail forever.
        let stuck = hash == root.hash || !excluded.insert(path, hash);
        if stuck {
            break;
        }
        if errors.len() >= MAX_ERRORS {
            errors.push((
                root.render(),
                format!("more errors not shown: loading stops after {MAX_ERRORS} in one document"),
            ));
            break;
        }
    }
    Typed {
        value: None,
        errors,
        unknown,
    }
}

/// Where a node is: its parent's path and its own key or index. Rendered only when needed; its
/// hash (of every segment from the root) makes looking it up among the excluded nodes cheap.
#[derive(Debug)]
struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    segment: Segment<'a>,
    hash: u64,
}

#[derive(Debug)]
enum Segment<'a> {
    Root(&'a str),
    Key(&'a str),
    Index(usize),
}

impl<'a> Path<'a> {
    fn root(prefix: &'a str) -> Path<'a> {
        let mut hasher = rustc_hash::FxHasher::default();
        prefix.hash(&mut hasher);
        Path {
            parent: None,
            segment: Segment::Root(prefix),
            hash: hasher.finish(),
        }
    }

    fn child(&'a self, segment: Segment<'a>) -> Path<'a> {
        let mut hasher = rustc_hash::FxHasher::default();
        self.hash.hash(&mut hasher);
        match segment {
            Segment::Key(key) => key.hash(&mut hasher),
            Segment::Index(index) => index.hash(&mut hasher),
            Segment::Root(prefix) => prefix.hash(&mut hasher),
        }
        // Keys and indices hash differently even where their bytes agree.
        matches!(segment, Segment::Index(_)).hash(&mut hasher);
        Path {
            parent: Some(self),
            segment,
            hash: hasher.finish(),
        }
    }

    /// `spec.http[0].match[1].uri`.
    fn render(&self) -> String {
        let mut segments = Vec::new();
        let mut at = Some(self);
        while let Some(path) = at {
            segments.push(&path.segment);
            at = path.parent;
        }
        let mut out = String::new();
        for segment in segments.into_iter().rev() {
            match segment {
                Segment::Root(prefix) => out.push_str(prefix),
                Segment::Key(key) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(key);
                }
                Segment::Index(index) => {
                    let _ = write!(out, "[{index}]");
                }
            }
        }
        out
    }
}

/// The nodes left out of a walk (they failed in an earlier round): their paths, and their
/// hashes to look them up without rendering every path.
#[derive(Debug, Default)]
struct Excluded {
    paths: HashSet<String>,
    hashes: HashSet<u64>,
}

impl Excluded {
    /// Adds a node; `false` if it was already left out.
    fn insert(&mut self, path: String, hash: u64) -> bool {
        self.hashes.insert(hash);
        self.paths.insert(path)
    }

    fn contains(&self, path: &Path<'_>) -> bool {
        self.hashes.contains(&path.hash) && self.paths.contains(&path.render())
    }
}

/// What one walk shares between its nodes.
struct State<'a> {
    mode: Mode,
    excluded: &'a Excluded,
    /// The path (and its hash) of the deepest node an error passed through (the first to see
    /// it).
    failed_at: Cell<Option<(String, u64)>>,
    unknown: Cell<Vec<String>>,
}

impl State<'_> {
    /// Notes that `error` passed through `path` (only the first, deepest, path is kept).
    fn fail(&self, path: &Path<'_>, error: Error) -> Error {
        let seen = self.failed_at.take();
        self.failed_at
            .set(seen.or_else(|| Some((path.render(), path.hash))));
        error
    }

    fn excluded(&self, path: &Path<'_>) -> bool {
        self.excluded.contains(path)
    }

    fn unknown(&self, path: &Path<'_>) {
        let mut unknown = self.unknown.take();
        unknown.push(path.render());
        self.unknown.set(unknown);
    }
}

/// A value being deserialized: scalars are handed to `serde_json`'s own deserializer, lists and
/// objects are walked here so that their items and members keep their paths.
#[derive(Clone, Copy)]
struct Node<'de, 'a> {
    value: &'de Value,
    path: &'a Path<'a>,
    state: &'a State<'a>,
}

impl<'de> Node<'de, '_> {
    fn walk<V: Visitor<'de>>(
        self,
        visitor: V,
        fields: Option<&'static [&'static str]>,
    ) -> Result<V::Value, Error> {
        match self.value {
            Value::Array(items) => visitor.visit_seq(Items {
                items: items.iter().enumerate(),
                path: self.path,
                state: self.state,
            }),
            Value::Object(members) => visitor.visit_map(Members {
                members: members.iter(),
                pending: None,
                fields,
                path: self.path,
                state: self.state,
            }),
            other => other.deserialize_any(visitor),
        }
    }
}

macro_rules! walk_or_forward {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.value {
                Value::Array(_) | Value::Object(_) => self.walk(visitor, None),
                scalar => scalar.$method(visitor),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for Node<'de, '_> {
    type Error = Error;

    walk_or_forward! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
        deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf deserialize_unit
        deserialize_seq deserialize_map deserialize_identifier
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Value::Array(_) | Value::Object(_) => self.walk(visitor, None),
            scalar => scalar.deserialize_unit_struct(name, visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Array(_) | Value::Object(_) => self.walk(visitor, None),
            scalar => scalar.deserialize_tuple(len, visitor),
        }
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Value::Array(_) | Value::Object(_) => self.walk(visitor, None),
            scalar => scalar.deserialize_tuple_struct(name, len, visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Value::Object(_) => self.walk(visitor, Some(fields)),
            Value::Array(_) => self.walk(visitor, None),
            scalar => scalar.deserialize_struct(name, fields, visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.value.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

/// The items of a list, each with its index in the document.
struct Items<'de, 'a> {
    items: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
    path: &'a Path<'a>,
    state: &'a State<'a>,
}

impl<'de> SeqAccess<'de> for Items<'de, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        for (index, value) in self.items.by_ref() {
            let path = self.path.child(Segment::Index(index));
            if self.state.excluded(&path) {
                continue;
            }
            if value.is_null() && self.state.mode.strict_items {
                let error = Error::custom(
                    "a list item cannot be null (Kubernetes rejects it): remove the empty `-` entry or give it a value",
                );
                return Err(self.state.fail(&path, error));
            }
            let node = Node {
                value,
                path: &path,
                state: self.state,
            };
            return seed
                .deserialize(node)
                .map(Some)
                .map_err(|error| self.state.fail(&path, error));
        }
        Ok(None)
    }
}

/// The members of an object. `null` members, unknown fields and excluded nodes are skipped.
struct Members<'de, 'a> {
    members: serde_json::map::Iter<'de>,
    pending: Option<(&'de str, &'de Value)>,
    /// The struct's fields, when the object is read as a struct.
    fields: Option<&'static [&'static str]>,
    path: &'a Path<'a>,
    state: &'a State<'a>,
}

impl<'de> MapAccess<'de> for Members<'de, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        for (key, value) in self.members.by_ref() {
            let path = self.path.child(Segment::Key(key));
            let unknown = self
                .fields
                .is_some_and(|fields| !fields.contains(&key.as_str()));
            if unknown && self.state.mode.report_unknown {
                self.state.unknown(&path);
                continue;
            }
            if value.is_null() || self.state.excluded(&path) {
                continue;
            }
            self.pending = Some((key, value));
            return seed
                .deserialize(BorrowedStrDeserializer::<Error>::new(key))
                .map(Some)
                .map_err(|error| self.state.fail(&path, error));
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let Some((key, value)) = self.pending.take() else {
            return Err(Error::custom("a map value was asked for before its key"));
        };
        let path = self.path.child(Segment::Key(key));
        let node = Node {
            value,
            path: &path,
            state: self.state,
        };
        seed.deserialize(node)
            .map_err(|error| self.state.fail(&path, error))
    }
}

/// Deserializes `value` as `T` with `mode` and nothing reported: for tests and callers that
/// only want the value.
#[cfg(test)]
fn value<T: DeserializeOwned>(value: &Value, mode: Mode) -> Option<T> {
    typed::<T>(value, "", mode).value
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Inner {
        #[serde(default)]
        name: String,
        #[serde(default)]
        port: Option<u32>,
    }

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Outer {
        #[serde(default)]
        hosts: Vec<String>,
        #[serde(default)]
        inner: Vec<Inner>,
        #[serde(default)]
        labels: std::collections::BTreeMap<String, String>,
        #[serde(default)]
        weight: i32,
    }

    fn json(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or_default()
    }

    #[test]
    fn null_members_are_absent_at_any_depth() {
        let with_nulls = json(
            r#"{"hosts":null,"inner":[{"name":"a","port":null}],"labels":{"a":"b","c":null},"weight":null}"#,
        );
        let without = json(r#"{"inner":[{"name":"a"}],"labels":{"a":"b"}}"#);
        let a: Option<Outer> = value(&with_nulls, Mode::ISTIO);
        let b: Option<Outer> = value(&without, Mode::ISTIO);
        assert!(a.is_some());
        assert_eq!(a, b);
    }

    #[test]
    fn every_wrong_value_is_reported_with_its_document_path() {
        let doc = json(r#"{"hosts":["a",5,"b",6],"inner":[{"port":"x"},{"name":7}],"weight":"w"}"#);
        let typed = typed::<Outer>(&doc, "spec", Mode::ISTIO);
        assert!(typed.value.is_none());
        let paths: Vec<&str> = typed.errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.hosts[1]",
                "spec.hosts[3]",
                "spec.inner[0].port",
                "spec.inner[1].name",
                "spec.weight"
            ]
        );
    }

    #[test]
    fn unknown_and_null_unknown_fields_are_reported() {
        let doc = json(r#"{"inner":[{"nmae":"a","prot":null}],"hosts":["a"]}"#);
        let typed = typed::<Outer>(&doc, "spec", Mode::ISTIO);
        assert!(typed.errors.is_empty());
        assert_eq!(typed.unknown, ["spec.inner[0].nmae", "spec.inner[0].prot"]);
        assert_eq!(
            typed.value.map(|o| o.hosts),
            Some(vec!["a".to_owned()]),
            "an unknown field alone does not stop the value"
        );
    }

    #[test]
    fn null_list_items_are_errors_for_istio_only() {
        let doc = json(r#"{"hosts":["a",null]}"#);
        let istio = typed::<Outer>(&doc, "spec", Mode::ISTIO);
        assert_eq!(istio.errors.len(), 1);
        assert_eq!(istio.errors[0].0, "spec.hosts[1]");
        let kubernetes = typed::<Outer>(&doc, "spec", Mode::KUBERNETES);
        assert_eq!(kubernetes.errors.len(), 1, "a String cannot be null");
    }

    #[test]
    fn errors_are_bounded() {
        let items: Vec<String> = (0..200).map(|i| i.to_string()).collect();
        let doc = json(&format!(r#"{{"hosts":[{}]}}"#, items.join(",")));
        let typed = typed::<Outer>(&doc, "spec", Mode::ISTIO);
        assert_eq!(typed.errors.len(), MAX_ERRORS + 1);
        assert!(typed.errors[MAX_ERRORS].1.contains("more errors"));
    }
}

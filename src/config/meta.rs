//! Types shared by every resource: object metadata, durations, percentages, string matches,
//! and protobuf-style enums.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// Kubernetes object metadata, the part meshroute reads.
///
/// Fields that Kubernetes adds (`uid`, `resourceVersion`, `managedFields`, ...) are accepted and
/// kept in [`ObjectMeta::other`] without a warning: they are not part of the Istio API.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// `metadata.name`.
    #[serde(default)]
    pub name: String,
    /// `metadata.namespace`; when absent, the loader fills in its default namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// `metadata.labels`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations` (meshroute's extensions live under `meshroute.dev/`).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// `metadata.creationTimestamp` as written (RFC 3339). Istio orders VirtualServices for one
    /// host on sidecars by it (oldest wins).
    #[serde(default)]
    pub creation_timestamp: Option<String>,
    /// Every other metadata field, kept as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl ObjectMeta {
    /// The namespace, or `default` when none is set.
    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }
}

/// Where a resource came from: the file (if any), the document's position in it and the line
/// its text starts on. Diagnostics carry it so that a message names `file:line`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The file the document was read from (`None` for a string, `-` for stdin).
    pub file: Option<Arc<str>>,
    /// Zero-based index of the document within its file.
    pub document: usize,
    /// One-based line of the document's first line of content.
    pub line: Option<u32>,
    /// One-based line on which `text` starts (its `---` marker line, if any).
    pub(crate) text_line: u32,
    /// The document's own text, kept to find the line of a field when a diagnostic names it.
    pub(crate) text: Option<Arc<str>>,
}

#[cfg(feature = "yaml")]
impl Origin {
    /// An error about input read from here that is not (yet) a resource.
    pub(crate) fn diagnostic(
        &self,
        line: Option<u32>,
        message: impl Into<String>,
    ) -> crate::diagnostic::Diagnostic {
        use crate::diagnostic::{Diagnostic, Severity};
        let mut diagnostic = Diagnostic::new(Severity::Error, message);
        diagnostic.file.clone_from(&self.file);
        diagnostic.line = line.or(self.line);
        diagnostic
    }
}

/// A duration as Istio writes it: Go `time.ParseDuration` syntax (`1.5s`, `100ms`, `1m30s`, `2h`),
/// which includes the protobuf JSON form (`0.100s`).
///
/// Stored as whole nanoseconds; negative values are kept so that validation can reject them with
/// Istio's message rather than failing to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    nanos: i128,
}

impl Duration {
    /// A duration of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: i128) -> Self {
        Self { nanos }
    }

    /// A duration of `millis` milliseconds.
    pub const fn from_millis(millis: i64) -> Self {
        Self {
            nanos: millis as i128 * 1_000_000,
        }
    }

    /// Whole nanoseconds (negative for a negative duration).
    pub const fn as_nanos(&self) -> i128 {
        self.nanos
    }

    /// The duration as a `std::time::Duration`, or `None` when it is negative or too large.
    pub fn to_std(&self) -> Option<std::time::Duration> {
        let nanos = u64::try_from(self.nanos).ok()?;
        Some(std::time::Duration::from_nanos(nanos))
    }

    /// Parses Go duration syntax: an optional sign, then one or more `<decimal><unit>` pairs with
    /// unit `ns`, `us`, `µs`, `ms`, `s`, `m` or `h`; `0` alone is allowed.
    pub fn parse(text: &str) -> Result<Self, InvalidDuration> {
        let invalid = || InvalidDuration(text.to_owned());
        let (negative, mut rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            Some(_) => (false, text),
            None => return Err(invalid()),
        };
        if rest == "0" {
            return Ok(Self { nanos: 0 });
        }
        if rest.is_empty() {
            return Err(invalid());
        }
        let mut total: i128 = 0;
        while !rest.is_empty() {
            let digits_end = rest
                .find(|c: char| !c.is_ascii_digit() && c != '.')
                .ok_or_else(invalid)?;
            let (number, tail) = rest.split_at(digits_end);
            let unit_end = tail
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(tail.len());
            let (unit, next) = tail.split_at(unit_end);
            let scale: i128 = match unit {
                "ns" => 1,
                "us" | "µs" | "μs" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60_000_000_000,
                "h" => 3_600_000_000_000,
                _ => return Err(invalid()),
            };
            let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
            if (whole.is_empty() && frac.is_empty()) || frac.contains('.') {
                return Err(invalid());
            }
            let whole: i128 = if whole.is_empty() {
                0
            } else {
                whole.parse().map_err(|_| invalid())?
            };
            let mut value = whole.checked_mul(scale).ok_or_else(invalid)?;
            let mut place = scale;
            for digit in frac.bytes() {
                place /= 10;
                if place == 0 {
                    break;
                }
                value += i128::from(digit - b'0') * place;
            }
            total = total.checked_add(value).ok_or_else(invalid)?;
            if total > i128::from(i64::MAX) {
                return Err(invalid());
            }
            rest = next;
        }
        Ok(Self {
            nanos: if negative { -total } else { total },
        })
    }
}

impl fmt::Display for Duration {
    /// Prints the shortest exact form in seconds, as Istio and protobuf JSON do (`1.5s`, `0.1s`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::util::duration::write_seconds(f, self.nanos)
    }
}

/// A duration string that is not in Go/protobuf duration syntax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {0:?}: expected a number with a unit such as 1.5s, 100ms, 1m or 2h")]
pub struct InvalidDuration(pub String);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Duration::parse(&text).map_err(de::Error::custom)
    }
}

impl Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// `istio.networking.v1alpha3.Percent`: a percentage as a double in `[0, 100]`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Percent {
    /// The percentage.
    #[serde(default)]
    pub value: f64,
}

/// `StringMatch`: a oneof of `exact`, `prefix` and `regex` (RE2). All unset (`{}`) means
/// "present" where Istio allows it (headers, query parameters).
///
/// Kept as three options rather than an enum so that a file which sets two of them loads and then
/// gets a precise validation error naming the field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StringMatch {
    /// Exact string match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    /// Prefix-based match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// RE2-style regex-based match; Envoy applies it to the whole value (full match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
}

/// Defines a protobuf enum that deserializes from its name (as protojson writes it) or its
/// number (which protojson also accepts), and serializes to its name.
macro_rules! proto_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = ($number:literal, $text:literal), )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// The name Istio's API gives this value.
            pub fn as_str(&self) -> &'static str {
                match self { $( Self::$variant => $text, )+ }
            }
            /// The protobuf number of this value.
            pub fn number(&self) -> i32 {
                match self { $( Self::$variant => $number, )+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> ::serde::de::Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("one of ", $( "`", $text, "` ", )+))
                    }
                    fn visit_str<E: ::serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        match v {
                            $( $text => Ok($name::$variant), )+
                            _ => Err(E::unknown_variant(v, &[$( $text, )+])),
                        }
                    }
                    fn visit_i64<E: ::serde::de::Error>(self, v: i64) -> Result<$name, E> {
                        match v {
                            $( $number => Ok($name::$variant), )+
                            _ => Err(E::invalid_value(::serde::de::Unexpected::Signed(v), &self)),
                        }
                    }
                    fn visit_u64<E: ::serde::de::Error>(self, v: u64) -> Result<$name, E> {
                        match i64::try_from(v) {
                            Ok(v) => self.visit_i64(v),
                            Err(_) => Err(E::invalid_value(::serde::de::Unexpected::Unsigned(v), &self)),
                        }
                    }
                }
                d.deserialize_any(V)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use proto_enum;

/// A protobuf `bytes` field: base64 text in YAML and JSON, decoded when the resource is loaded.
///
/// Decoded as protobuf's JSON mapping decodes `bytes` (protobuf-go `protojson`): the standard
/// alphabet, or the URL-safe one when the text contains `-` or `_`; padded when the length is a
/// multiple of 4, unpadded otherwise; line breaks ignored, as Go's decoder ignores them. Anything
/// else is an error naming the field, as Istio rejects such a resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Base64Bytes(pub Vec<u8>);

impl Base64Bytes {
    /// Decodes base64 text the way protobuf's JSON mapping does (see the type's docs).
    pub fn decode(text: &str) -> Result<Self, InvalidBase64> {
        use base64::Engine as _;
        use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

        let text: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
        let alphabet = if text.contains(['-', '_']) {
            &base64::alphabet::URL_SAFE
        } else {
            &base64::alphabet::STANDARD
        };
        let padding = if text.len() % 4 == 0 {
            DecodePaddingMode::RequireCanonical
        } else {
            DecodePaddingMode::RequireNone
        };
        // Go's decoder is not strict about the unused bits of the last character.
        let config = GeneralPurposeConfig::new()
            .with_decode_padding_mode(padding)
            .with_decode_allow_trailing_bits(true);
        GeneralPurpose::new(alphabet, config)
            .decode(&text)
            .map(Base64Bytes)
            .map_err(|error| InvalidBase64(error.to_string()))
    }
}

/// Text that is not base64 as protobuf's JSON mapping reads it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid base64 ({0}): expected standard or URL-safe base64 text")]
pub struct InvalidBase64(String);

impl<'de> Deserialize<'de> for Base64Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Base64Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("base64 text")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Base64Bytes, E> {
                Base64Bytes::decode(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

impl Serialize for Base64Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine as _;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Istio accepts Go duration syntax (`1m`, `15m` in the DestinationRule docs) as well as the
    /// protobuf JSON form.
    #[test]
    fn duration_parses_go_and_protobuf_syntax() {
        let cases = [
            ("1.5s", 1_500_000_000),
            ("100ms", 100_000_000),
            ("1m30s", 90_000_000_000),
            ("2h", 7_200_000_000_000),
            ("0.100s", 100_000_000),
            ("0", 0),
            ("0s", 0),
            ("-1s", -1_000_000_000),
            ("1us", 1_000),
            ("1µs", 1_000),
            ("3ns", 3),
            (".5s", 500_000_000),
        ];
        for (text, nanos) in cases {
            assert_eq!(
                Duration::parse(text),
                Ok(Duration::from_nanos(nanos)),
                "{text}"
            );
        }
    }

    #[test]
    fn duration_rejects_garbage() {
        for text in [
            "",
            "1",
            "s",
            "1x",
            "1.2.3s",
            "abc",
            "-",
            "1s2",
            "99999999999999999999h",
        ] {
            assert!(Duration::parse(text).is_err(), "{text}");
        }
    }

    /// protojson's `bytes`: standard or URL-safe alphabet, padding when the length allows it;
    /// anything else is rejected (Istio refuses the resource).
    #[test]
    fn base64_decodes_as_protojson() {
        let decode = |t: &str| Base64Bytes::decode(t).map(|b| b.0);
        assert_eq!(decode("aGVsbG8="), Ok(b"hello".to_vec()));
        assert_eq!(decode("aGVsbG8"), Ok(b"hello".to_vec()));
        assert_eq!(decode("aGVs\nbG8="), Ok(b"hello".to_vec()));
        assert_eq!(decode("-_8="), Ok(vec![0xfb, 0xff]));
        assert_eq!(decode(""), Ok(Vec::new()));
        assert!(decode("aGVsbG8*").is_err());
        assert!(decode("a").is_err());
        assert!(decode("aGVsbG8==").is_err());
        let text = serde_json::to_string(&Base64Bytes(b"hello".to_vec())).unwrap_or_default();
        assert_eq!(text, "\"aGVsbG8=\"");
    }

    #[test]
    fn duration_displays_as_seconds() {
        assert_eq!(
            Duration::parse("1500ms").map(|d| d.to_string()),
            Ok("1.5s".into())
        );
        assert_eq!(
            Duration::parse("2m").map(|d| d.to_string()),
            Ok("120s".into())
        );
        assert_eq!(
            Duration::parse("1ms").map(|d| d.to_string()),
            Ok("0.001s".into())
        );
    }
}

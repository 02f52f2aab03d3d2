//! Streams of requests to simulate, read line by line in bounded memory: meshroute's request
//! lines (one JSON object per line, see [`SimRequest::from_json_line`]) and Envoy access logs
//! as Istio writes them, in its default text format and its JSON format — so that `simulate` and
//! `diff` run on yesterday's real traffic.
//!
//! Istio's formats are `EnvoyTextLogFormat` and `EnvoyJSONLogFormatIstio` in istio/istio
//! `pilot/pkg/model/telemetry_logging.go`. A request is rebuilt from the method, the path
//! (`%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%`, the path before any rewrite), the authority and the
//! headers the format records (`x-forwarded-for`, `user-agent`, `x-request-id`), with the
//! downstream remote address as the caller's IP. Envoy writes `-` for a value it does not have.

use std::io::BufRead;
use std::net::{IpAddr, SocketAddr};

use super::request::{InvalidRequest, SimRequest};

/// The longest line read; the rest of a longer line is skipped, never buffered or echoed.
pub const MAX_LINE: usize = 64 * 1024;

/// What a line of a request stream was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LineFormat {
    /// A meshroute request line (a JSON object with a `url`).
    Request,
    /// An entry of Istio's default text access log.
    EnvoyText,
    /// An entry of a JSON access log (Istio's keys: `method`, `path`, `authority`, ...).
    EnvoyJson,
    /// A line none of the formats reads.
    Unknown,
}

impl LineFormat {
    /// Whether the line is an access-log entry.
    pub fn is_access_log(self) -> bool {
        matches!(self, LineFormat::EnvoyText | LineFormat::EnvoyJson)
    }
}

/// One non-blank line of a request stream: its 1-based number, its format and the request it
/// describes (or why it describes none).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestLine {
    /// The line's number in the stream, from 1.
    pub number: usize,
    /// The line's format.
    pub format: LineFormat,
    /// The request, or why the line holds none (the message never repeats a whole long line).
    pub request: Result<SimRequest, InvalidRequest>,
}

/// Reads the requests of a stream, one per non-blank line, in any mix of the formats
/// [`LineFormat`] names. Memory stays bounded whatever the input: one line of at most
/// [`MAX_LINE`] bytes is held at a time.
///
/// ```
/// use meshroute::sim::{LineFormat, RequestLines};
///
/// let log = r#"[2026-11-30T10:00:00.000Z] "GET /greet?name=xx HTTP/1.1" 200 - via_upstream - "-" 0 12 3 2 "-" "curl/8.5.0" "4f1c" "svc-b:8080" "10.1.0.7:8080" outbound|8080|v2|svc-b.default.svc.cluster.local 10.1.0.5:40312 10.96.0.20:8080 10.1.0.5:51234 - default
/// {"method":"GET","path":"/greet","authority":"svc-b:8080","user_agent":"curl/8.5.0"}
/// {"url":"http://svc-b:8080/greet?name=yy"}
/// not a request
/// "#;
/// let lines: Vec<_> = RequestLines::new(log.as_bytes()).collect();
/// assert_eq!(lines.len(), 4);
/// assert_eq!(lines[0].format, LineFormat::EnvoyText);
/// assert_eq!(lines[0].request.as_ref().unwrap().url(), "http://svc-b:8080/greet?name=xx");
/// assert_eq!(lines[1].format, LineFormat::EnvoyJson);
/// assert_eq!(lines[2].format, LineFormat::Request);
/// assert_eq!(lines[3].number, 4);
/// assert!(lines[3].request.is_err());
/// ```
#[derive(Debug)]
pub struct RequestLines<R> {
    reader: R,
    namespace: String,
    gateway: Option<String>,
    log_headers: Vec<(String, String)>,
    number: usize,
    buffer: Vec<u8>,
    done: bool,
}

impl<R: BufRead> RequestLines<R> {
    /// Reads `reader`. Access-log entries are sent by a sidecar in namespace `default` unless
    /// [`RequestLines::namespace`] or [`RequestLines::gateway`] say otherwise.
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            namespace: "default".to_owned(),
            gateway: None,
            log_headers: Vec::new(),
            number: 0,
            buffer: Vec::new(),
            done: false,
        }
    }

    /// The namespace of the sidecar that sends access-log entries, and of a bare gateway name in
    /// a request line.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Access-log entries are sent by this gateway (`namespace/name`): the log is a gateway's.
    pub fn gateway(mut self, gateway: impl Into<String>) -> Self {
        self.gateway = Some(gateway.into());
        self
    }

    /// A key of a JSON access log that records a request header (`"x_canary"` for `x-canary`),
    /// beyond Istio's `user_agent`, `x_forwarded_for` and `request_id`.
    pub fn log_header(mut self, key: impl Into<String>, header: impl Into<String>) -> Self {
        self.log_headers.push((key.into(), header.into()));
        self
    }

    /// The next line into `self.buffer`, at most [`MAX_LINE`] bytes of it: `Ok(None)` at the end,
    /// `Ok(Some(true))` when the line was longer (its rest skipped).
    fn read_line(&mut self) -> std::io::Result<Option<bool>> {
        self.buffer.clear();
        let mut long = false;
        let mut any = false;
        loop {
            let available = self.reader.fill_buf()?;
            if available.is_empty() {
                return Ok(any.then_some(long));
            }
            any = true;
            let (piece, used, end) = match available.iter().position(|b| *b == b'\n') {
                Some(at) => (available.get(..at).unwrap_or_default(), at + 1, true),
                None => (available, available.len(), false),
            };
            let room = MAX_LINE.saturating_sub(self.buffer.len());
            if piece.len() > room {
                long = true;
            }
            self.buffer
                .extend_from_slice(piece.get(..room.min(piece.len())).unwrap_or_default());
            self.reader.consume(used);
            if end {
                return Ok(Some(long));
            }
        }
    }
}

impl<R: BufRead> Iterator for RequestLines<R> {
    type Item = RequestLine;

    fn next(&mut self) -> Option<RequestLine> {
        while !self.done {
            self.number += 1;
            let number = self.number;
            let long = match self.read_line() {
                Ok(Some(long)) => long,
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(error) => {
                    self.done = true;
                    return Some(RequestLine {
                        number,
                        format: LineFormat::Unknown,
                        request: Err(InvalidRequest::new(format!("cannot read: {error}"))),
                    });
                }
            };
            let fail = |format, message: String| {
                Some(RequestLine {
                    number,
                    format,
                    request: Err(InvalidRequest::new(message)),
                })
            };
            if long {
                return fail(
                    LineFormat::Unknown,
                    format!("line longer than {MAX_LINE} bytes: skipped"),
                );
            }
            let Ok(text) = std::str::from_utf8(&self.buffer) else {
                return fail(LineFormat::Unknown, "line is not UTF-8".to_owned());
            };
            let line = text.trim();
            if line.is_empty() {
                continue;
            }
            let (format, request) = self.parse(line);
            return Some(RequestLine {
                number,
                format,
                request,
            });
        }
        None
    }
}

impl<R> RequestLines<R> {
    fn parse(&self, line: &str) -> (LineFormat, Result<SimRequest, InvalidRequest>) {
        if line.starts_with('{') {
            let Ok(serde_json::Value::Object(object)) = serde_json::from_str(line) else {
                // Not an access log's: report it as a request line.
                return (
                    LineFormat::Request,
                    SimRequest::from_json_line_in(line, &self.namespace),
                );
            };
            if object.contains_key("url") {
                return (
                    LineFormat::Request,
                    SimRequest::from_json_line_in(line, &self.namespace),
                );
            }
            if ["method", "path", "authority"]
                .iter()
                .any(|k| object.contains_key(*k))
            {
                let request = self.read_json_entry(&object).map_err(InvalidRequest::new);
                return (LineFormat::EnvoyJson, request);
            }
            return (
                LineFormat::Unknown,
                Err(InvalidRequest::new(
                    "a JSON object with neither \"url\" (a request line) nor \"method\", \"path\", \"authority\" (an access-log entry)".to_owned(),
                )),
            );
        }
        if line.starts_with('[') {
            let request = self.read_text_entry(line).map_err(InvalidRequest::new);
            return (LineFormat::EnvoyText, request);
        }
        (
            LineFormat::Unknown,
            Err(InvalidRequest::new(format!(
                "not a request line (a JSON object) nor an access-log entry (Istio's text format starts with [START_TIME]): {}",
                excerpt(line)
            ))),
        )
    }

    /// The request of an entry of a JSON access log.
    fn read_json_entry(
        &self,
        object: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<SimRequest, String> {
        let value = |key: &str| present(object.get(key).and_then(serde_json::Value::as_str));
        let authority = value("authority").ok_or("no \"authority\" (an HTTP entry has one)")?;
        let path = value("path").ok_or("no \"path\": not an HTTP request (a TCP entry?)")?;
        let method = value("method").unwrap_or("GET");
        let mut headers: Vec<(&str, &str)> = Vec::new();
        for (key, header) in ISTIO_JSON_HEADERS.iter().copied().chain(
            self.log_headers
                .iter()
                .map(|(k, h)| (k.as_str(), h.as_str())),
        ) {
            if let Some(v) = value(key) {
                headers.push((header, v));
            }
        }
        let remote = value("downstream_remote_address");
        self.request(method, authority, path, &headers, remote)
    }

    /// The request of an entry of Istio's default text access log.
    fn read_text_entry(&self, line: &str) -> Result<SimRequest, String> {
        let rest = line
            .split_once(']')
            .map(|(_, rest)| rest)
            .ok_or("no ] after [START_TIME]")?;
        let mut quoted: Vec<&str> = Vec::new();
        let mut bare_after: Vec<&str> = Vec::new();
        let mut rest = rest.trim_start();
        while !rest.is_empty() {
            if let Some(inner) = rest.strip_prefix('"') {
                let (value, after) = inner
                    .split_once('"')
                    .ok_or("a quoted field is not closed")?;
                quoted.push(value);
                bare_after.clear();
                rest = after.trim_start();
            } else {
                let end = rest.find(' ').unwrap_or(rest.len());
                bare_after.push(rest.get(..end).unwrap_or_default());
                rest = rest.get(end..).unwrap_or_default().trim_start();
            }
        }
        // The quoted fields in order: request line, upstream failure reason, x-forwarded-for,
        // user-agent, x-request-id, authority, upstream host.
        let [request_line, _, forwarded, agent, id, authority, ..] = quoted.as_slice() else {
            return Err(format!(
                "{} quoted field(s), Istio's default format has 7: {}",
                quoted.len(),
                excerpt(line)
            ));
        };
        let mut parts = request_line.split(' ');
        let method =
            present(parts.next()).ok_or("no method: not an HTTP request (a TCP entry?)")?;
        let path = present(parts.next()).ok_or("no path: not an HTTP request (a TCP entry?)")?;
        let authority = present(Some(authority)).ok_or("no authority")?;
        let headers: Vec<(&str, &str)> = [
            ("x-forwarded-for", *forwarded),
            ("user-agent", *agent),
            ("x-request-id", *id),
        ]
        .into_iter()
        .filter(|(_, v)| present(Some(v)).is_some())
        .collect();
        // After the upstream host: cluster, upstream local, downstream local, downstream remote.
        let remote = bare_after.get(3).copied();
        self.request(method, authority, path, &headers, remote)
    }

    fn request(
        &self,
        method: &str,
        authority: &str,
        path: &str,
        headers: &[(&str, &str)],
        remote: Option<&str>,
    ) -> Result<SimRequest, String> {
        if !path.starts_with('/') {
            return Err(format!("path {} does not start with /", excerpt(path)));
        }
        let mut request = SimRequest::new(method, format!("http://{authority}{path}"));
        request = match &self.gateway {
            Some(gateway) => request.from_gateway(gateway),
            None => request.from_sidecar(self.namespace.clone()),
        };
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(ip) = remote.and_then(|r| r.parse::<SocketAddr>().ok()) {
            request = request.source_ip(ip.ip());
        } else if let Some(ip) = remote.and_then(|r| r.parse::<IpAddr>().ok()) {
            request = request.source_ip(ip);
        }
        request.build().map_err(|e| e.to_string())?;
        Ok(request)
    }
}

/// The keys of Istio's JSON access log that record request headers.
const ISTIO_JSON_HEADERS: [(&str, &str); 3] = [
    ("user_agent", "user-agent"),
    ("x_forwarded_for", "x-forwarded-for"),
    ("request_id", "x-request-id"),
];

/// A value Envoy recorded: not absent, empty or `-`.
fn present(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty() && *v != "-")
}

/// The start of a long text, for a message.
fn excerpt(text: &str) -> String {
    const KEEP: usize = 80;
    match text.char_indices().nth(KEEP) {
        Some((cut, _)) => format!("{:?}…", text.get(..cut).unwrap_or_default()),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"[2026-11-30T10:00:00.000Z] "POST /api/v1/orders?id=7 HTTP/1.1" 201 - via_upstream - "-" 120 45 12 11 "203.0.113.9" "Mozilla/5.0 (X11; Linux)" "a1b2" "shop.example.com" "10.1.0.7:8080" outbound|8080|v2|orders.default.svc.cluster.local 10.1.0.5:40312 10.96.0.20:8080 10.1.0.5:51234 - orders-route"#;

    fn one(text: &str) -> RequestLine {
        let mut lines = RequestLines::new(text.as_bytes()).namespace("shop");
        let line = lines.next().unwrap();
        assert!(lines.next().is_none());
        line
    }

    /// Istio's default text format: the request line, the headers it records and the
    /// downstream remote address as the caller's IP.
    #[test]
    fn istio_text_entry() {
        let line = one(TEXT);
        assert_eq!(line.format, LineFormat::EnvoyText);
        let request = line.request.unwrap();
        assert_eq!(request.method(), "POST");
        assert_eq!(request.url(), "http://shop.example.com/api/v1/orders?id=7");
        assert_eq!(
            request.headers(),
            [
                ("x-forwarded-for".to_owned(), "203.0.113.9".to_owned()),
                (
                    "user-agent".to_owned(),
                    "Mozilla/5.0 (X11; Linux)".to_owned()
                ),
                ("x-request-id".to_owned(), "a1b2".to_owned()),
            ]
        );
        assert_eq!(request.source().ip(), Some("10.1.0.5".parse().unwrap()));
        assert_eq!(request.source().namespace(), "shop");
    }

    /// A TCP entry (`"- - -"`), a truncated entry and garbage are reported, not fatal.
    #[test]
    fn entries_that_are_not_http_requests() {
        let tcp = r#"[2026-11-30T10:00:00.000Z] "- - -" 0 - - - "-" 10 20 5 - "-" "-" "-" "-" "10.1.0.9:5432" outbound|5432||db.default.svc.cluster.local 10.1.0.5:1 10.96.0.30:5432 10.1.0.5:2 - -"#;
        let error = one(tcp).request.unwrap_err().to_string();
        assert!(error.contains("not an HTTP request"), "{error}");
        let cut = one(&TEXT[..60]).request.unwrap_err().to_string();
        assert!(cut.contains("quoted field"), "{cut}");
        let garbage = one("hello world").request.unwrap_err().to_string();
        assert!(garbage.contains("not a request line"), "{garbage}");
    }

    /// Istio's JSON keys; `-` and `null` are absent; configured keys add headers.
    #[test]
    fn json_entry() {
        let text = r#"{"start_time":"2026-11-30T10:00:00.000Z","method":"GET","path":"/greet?name=xx","authority":"svc-b:8080","user_agent":"-","request_id":null,"x_canary":"on","downstream_remote_address":"[2001:db8::1]:4000","response_code":200}"#;
        let mut lines = RequestLines::new(text.as_bytes()).log_header("x_canary", "x-canary");
        let line = lines.next().unwrap();
        assert_eq!(line.format, LineFormat::EnvoyJson);
        let request = line.request.unwrap();
        assert_eq!(request.url(), "http://svc-b:8080/greet?name=xx");
        assert_eq!(
            request.headers(),
            [("x-canary".to_owned(), "on".to_owned())]
        );
        assert_eq!(request.source().ip(), Some("2001:db8::1".parse().unwrap()));
        let tcp = one(r#"{"method":null,"path":null,"authority":"-","upstream_cluster":"x"}"#);
        assert!(tcp.request.is_err());
        assert_eq!(tcp.format, LineFormat::EnvoyJson);
    }

    /// Blank lines are skipped but counted; a line longer than the limit is skipped whole and
    /// not echoed; a gateway's log is decided as that gateway.
    #[test]
    fn numbering_long_lines_and_gateways() {
        let long = format!("{{\"url\":\"http://a/{}\"}}", "x".repeat(MAX_LINE));
        let text = format!("\n{long}\n\n{TEXT}\n");
        let lines: Vec<RequestLine> = RequestLines::new(text.as_bytes())
            .gateway("istio-system/ingress")
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].number, 2);
        let error = lines[0].request.as_ref().unwrap_err().to_string();
        assert!(
            error.contains("longer than") && error.len() < 200,
            "{error}"
        );
        assert_eq!(lines[1].number, 4);
        let request = lines[1].request.as_ref().unwrap();
        assert_eq!(
            request.source().gateway_name(),
            Some("istio-system/ingress")
        );
        assert!(
            RequestLines::new(&b"\xff\xfe\n"[..])
                .next()
                .unwrap()
                .request
                .is_err()
        );
    }
}

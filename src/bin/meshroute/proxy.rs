//! `meshroute proxy`: a local HTTP/1.1 proxy made of the library's `OutboundLayer` around
//! hyper-util's client. The layer does everything a sidecar does to a request (routing,
//! retries, timeouts, faults, mirrors, circuit breaking, outlier detection); this file only
//! accepts connections, turns origin-form requests into absolute ones, marks meshroute's flags
//! on the response, writes the access log and stops gracefully.
//!
//! Access log, one line per request on standard output (see `docs/proxy.md`):
//!
//! ```text
//! [START] "METHOD PATH PROTOCOL" STATUS FLAGS DURATION_MS "AUTHORITY" "UPSTREAM"
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::{CONNECTION, HOST};
use http::uri::{Authority, PathAndQuery};
use http::{
    HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, Version,
};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use meshroute::service::{
    LocalReply, Outbound, OutboundLayer, RequestBody, ResponseBody, UpstreamReply,
};
use meshroute::{Mesh, SharedMesh, Source};
use tower::{Layer, Service, ServiceExt};

/// How long requests in flight may run on after SIGTERM or Ctrl-C.
const GRACE: Duration = Duration::from_secs(5);

/// The response header naming meshroute's flags (Envoy's response flags).
const FLAGS_HEADER: &str = "x-meshroute-flags";

/// How the access log is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LogFormat {
    /// `[START] "METHOD PATH PROTOCOL" STATUS FLAGS DURATION_MS "AUTHORITY" "UPSTREAM"`.
    Text,
    /// One JSON object per request with the keys of Istio's JSON access log
    /// (`EnvoyJSONLogFormatIstio`), which `meshroute simulate --requests` replays.
    Json,
}

/// Serves on `listen` until SIGTERM or Ctrl-C: exit status 0, or 2 when it cannot listen.
pub(super) fn run(mesh: Mesh, source: Source, listen: SocketAddr, log: LogFormat) -> ExitCode {
    let listener = std::net::TcpListener::bind(listen).and_then(|listener| {
        listener.set_nonblocking(true)?;
        Ok(listener)
    });
    let listener = match listener {
        Ok(listener) => listener,
        Err(error) => return fail(&format!("cannot listen on {listen}: {error}")),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(serve(listener, SharedMesh::new(mesh), source, log)),
        Err(error) => fail(&format!("cannot start the runtime: {error}")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("meshroute: {message}");
    ExitCode::from(2)
}

/// The client the layer wraps: hyper-util's, with meshroute's replayable request bodies.
type HttpClient = Client<HttpConnector, RequestBody<Incoming>>;

/// The response body the proxy sends: the layer's (the upstream's or a local reply), or the
/// proxy's own answer to a request it cannot forward.
type ProxyBody = Either<ResponseBody<Incoming>, Full<Bytes>>;

async fn serve(
    listener: std::net::TcpListener,
    mesh: SharedMesh,
    source: Source,
    log: LogFormat,
) -> ExitCode {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => return fail(&format!("cannot listen: {error}")),
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(error) => return fail(&format!("cannot listen: {error}")),
    };
    // Before the startup line: a signal sent as soon as it is seen must stop the proxy cleanly.
    let mut stop = match Stop::register() {
        Ok(stop) => stop,
        Err(error) => return fail(&format!("cannot handle signals: {error}")),
    };
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .build(connector);
    let outbound = OutboundLayer::new(mesh, source).layer(Dial(client));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    say(&format!("meshroute proxy listening on {address}"));
    loop {
        tokio::select! {
            () = stop.wait() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // Only a latency hint: a socket that refuses it still works.
                    let _ = stream.set_nodelay(true);
                    let outbound = outbound.clone();
                    let service = hyper::service::service_fn(move |request| {
                        handle(outbound.clone(), request, log)
                    });
                    let connection =
                        graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                    // A connection's error (the client went away, a malformed request hyper
                    // answered 400) concerns that client only.
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                }
                Err(error) => {
                    // Out of file descriptors, for instance: wait instead of spinning.
                    eprintln!("meshroute: accept: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    if tokio::time::timeout(GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        eprintln!(
            "meshroute: requests still in flight after {} seconds were cut off",
            GRACE.as_secs()
        );
    }
    ExitCode::SUCCESS
}

/// SIGTERM and Ctrl-C (SIGINT), registered before the proxy listens.
struct Stop {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl Stop {
    #[cfg(unix)]
    fn register() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    #[cfg(not(unix))]
    fn register() -> std::io::Result<Self> {
        Ok(Self {})
    }

    /// Waits for the first signal.
    async fn wait(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// hyper-util's client, noting in each response's extensions the endpoint it was sent to (the
/// URI the layer rewrote), for the access log.
#[derive(Debug, Clone)]
struct Dial(HttpClient);

/// The endpoint (`ip:port`, or the authority the client asked for) that answered.
#[derive(Debug, Clone)]
struct Dialled(String);

type DialFuture = Pin<
    Box<dyn Future<Output = Result<Response<Incoming>, hyper_util::client::legacy::Error>> + Send>,
>;

impl Service<Request<RequestBody<Incoming>>> for Dial {
    type Response = Response<Incoming>;
    type Error = hyper_util::client::legacy::Error;
    type Future = DialFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<RequestBody<Incoming>>) -> Self::Future {
        let dialled = request.uri().authority().map(|a| Dialled(a.to_string()));
        let response = self.0.request(request);
        Box::pin(async move {
            let mut response = response.await?;
            if let Some(dialled) = dialled {
                response.extensions_mut().insert(dialled);
            }
            Ok(response)
        })
    }
}

/// What the access log says about the request, taken before it is forwarded.
struct Logged {
    start: SystemTime,
    clock: Instant,
    method: Method,
    path: String,
    version: Version,
    authority: Option<String>,
}

/// One request: made absolute, forwarded through the layer, its flags marked, logged.
async fn handle(
    outbound: Outbound<Dial>,
    request: Request<Incoming>,
    log: LogFormat,
) -> Result<Response<ProxyBody>, Infallible> {
    let mut logged = Logged {
        start: SystemTime::now(),
        clock: Instant::now(),
        method: request.method().clone(),
        path: request
            .uri()
            .path_and_query()
            .map_or("/", PathAndQuery::as_str)
            .to_owned(),
        version: request.version(),
        authority: None,
    };
    let mut response = match absolute(request) {
        Ok(request) => {
            logged.authority = request.uri().authority().map(ToString::to_string);
            match outbound.oneshot(request).await {
                Ok(response) => response.map(Either::Left),
                Err(error) => own_reply(StatusCode::BAD_GATEWAY, &format!("{error}\n")),
            }
        }
        Err((status, message)) => own_reply(status, message),
    };
    strip_hop_by_hop(response.headers_mut());
    let local = response.extensions().get::<LocalReply>();
    let flags = match local {
        Some(local) => local.flag.to_owned(),
        None => response
            .extensions()
            .get::<UpstreamReply>()
            .map(|upstream| upstream.flags.clone())
            .unwrap_or_default(),
    };
    let upstream = match local {
        Some(_) => None,
        None => response.extensions().get::<Dialled>().map(|d| d.0.clone()),
    };
    if let Ok(value) = HeaderValue::from_str(&flags) {
        if !flags.is_empty() {
            response.headers_mut().insert(FLAGS_HEADER, value);
        }
    }
    let status = response.status();
    say(&match log {
        LogFormat::Text => access_log(&logged, status, &flags, upstream.as_deref()),
        LogFormat::Json => json_access_log(&logged, status, &flags, upstream.as_deref()),
    });
    Ok(response)
}

/// The request as the layer routes it: an absolute URI whose authority is the host called.
/// Origin-form (`GET /greet` with `Host: svc-b:8080`) becomes `http://svc-b:8080/greet`;
/// absolute-form (a client with `HTTP_PROXY`) is kept. Hop-by-hop headers are removed and the
/// request goes on as HTTP/1.1.
fn absolute(
    mut request: Request<Incoming>,
) -> Result<Request<Incoming>, (StatusCode, &'static str)> {
    if request.method() == Method::CONNECT {
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            "meshroute proxy: CONNECT is not supported (plain HTTP/1.1 only, no TLS)\n",
        ));
    }
    if request.uri().authority().is_none() {
        const NO_HOST: &str =
            "meshroute proxy: no host: send an absolute URI (HTTP_PROXY) or a Host header\n";
        let host = request
            .headers()
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && !h.contains('@'))
            .ok_or((StatusCode::BAD_REQUEST, NO_HOST))?;
        let authority: Authority = host
            .parse()
            .map_err(|_| (StatusCode::BAD_REQUEST, NO_HOST))?;
        let path = request
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let uri = Uri::builder()
            .scheme("http")
            .authority(authority)
            .path_and_query(path)
            .build()
            .map_err(|_| (StatusCode::BAD_REQUEST, NO_HOST))?;
        *request.uri_mut() = uri;
    }
    strip_hop_by_hop(request.headers_mut());
    *request.version_mut() = Version::HTTP_11;
    Ok(request)
}

/// Removes the headers that concern one connection only (RFC 9110 §7.6.1): those `Connection`
/// names, and the usual ones.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        "connection",
        "proxy-connection",
        "keep-alive",
        "proxy-authorization",
        "proxy-authenticate",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        headers.remove(name);
    }
}

/// A reply from the proxy itself (not meshroute's routing): plain text.
fn own_reply(status: StatusCode, text: &str) -> Response<ProxyBody> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(text.to_owned()))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain"),
    );
    response
}

/// Writes a line to standard output; a closed output is not the proxy's problem.
fn say(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// `[START] "METHOD PATH PROTOCOL" STATUS FLAGS DURATION_MS "AUTHORITY" "UPSTREAM"`, `-` for
/// what is not known.
fn access_log(logged: &Logged, status: StatusCode, flags: &str, upstream: Option<&str>) -> String {
    format!(
        "[{}] \"{} {} {:?}\" {} {} {} \"{}\" \"{}\"",
        timestamp(logged.start),
        quoted(logged.method.as_str()),
        quoted(&logged.path),
        logged.version,
        status.as_u16(),
        if flags.is_empty() { "-" } else { flags },
        logged.clock.elapsed().as_millis(),
        quoted(logged.authority.as_deref().unwrap_or("-")),
        quoted(upstream.unwrap_or("-")),
    )
}

/// The same entry as one JSON object with the keys of Istio's JSON access log
/// (`EnvoyJSONLogFormatIstio` in istio/istio `pilot/pkg/model/telemetry_logging.go`): `-` for
/// what is not known, as Envoy writes it.
fn json_access_log(
    logged: &Logged,
    status: StatusCode,
    flags: &str,
    upstream: Option<&str>,
) -> String {
    let entry = serde_json::json!({
        "start_time": timestamp(logged.start),
        "method": logged.method.as_str(),
        "path": logged.path,
        "protocol": format!("{:?}", logged.version),
        "response_code": status.as_u16(),
        "response_flags": if flags.is_empty() { "-" } else { flags },
        "duration": u64::try_from(logged.clock.elapsed().as_millis()).unwrap_or(u64::MAX),
        "authority": logged.authority.as_deref().unwrap_or("-"),
        "upstream_host": upstream.unwrap_or("-"),
    });
    entry.to_string()
}

/// `text` safe between the log's quotes: quotes, backslashes and control characters escaped.
fn quoted(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c if c.is_control() => c.escape_default().collect(),
            c => vec![c],
        })
        .collect()
}

/// `2026-12-01T14:05:27.123Z`: UTC, milliseconds, as Envoy's `%START_TIME%`.
fn timestamp(time: SystemTime) -> String {
    let since = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = since.as_secs();
    let (year, month, day) = civil(i64::try_from(seconds / 86_400).unwrap_or(0));
    let of_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
        since.subsec_millis()
    )
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_gregorian() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(59), (1970, 3, 1));
        assert_eq!(civil(11_016), (2000, 2, 29));
        assert_eq!(civil(20_788), (2026, 12, 1));
        assert_eq!(civil(-1), (1969, 12, 31));
    }

    #[test]
    fn timestamps_are_utc_with_milliseconds() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_134_327_123);
        assert_eq!(timestamp(time), "2026-12-01T14:12:07.123Z");
    }

    #[test]
    fn log_fields_cannot_break_out_of_their_quotes() {
        assert_eq!(quoted("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(quoted("svc-b:8080"), "svc-b:8080");
    }

    #[test]
    fn hop_by_hop_headers_are_removed() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONNECTION,
            HeaderValue::from_static("keep-alive, x-private"),
        );
        headers.insert("x-private", HeaderValue::from_static("1"));
        headers.insert("proxy-connection", HeaderValue::from_static("keep-alive"));
        headers.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut headers);
        let names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["x-kept"]);
    }
}

//! `meshroute proxy`: the command line `docs/proxy.md` shows, with the configuration it shows
//! (`examples/proxy/backend.yaml`, its endpoint's port pointed at a loopback server the test
//! starts), forwarding origin-form and absolute-form requests, meshroute's local replies and
//! their `x-meshroute-flags`, retries, the access log, and a graceful stop on SIGTERM and
//! Ctrl-C with exit status 0; configuration errors refused before it listens.
//!
//! Everything listens on `127.0.0.1`; every wait has a time limit, and the proxy is killed if a
//! test fails.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use regex::Regex;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::{Notify, mpsc};
use tokio::time::timeout;

/// The time limit of a whole test.
const LIMIT: Duration = Duration::from_secs(30);
/// The time limit of one wait (the startup line, a response, a log line, the exit).
const WAIT: Duration = Duration::from_secs(10);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fenced blocks of `docs/proxy.md`: language and text.
fn doc_blocks() -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(root().join("docs/proxy.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in doc.lines() {
        match &mut current {
            None => {
                if let Some(lang) = line.trim_start().strip_prefix("```") {
                    current = Some((lang.trim().to_owned(), String::new()));
                }
            }
            Some((_, text)) => {
                if line.trim_start() == "```" {
                    blocks.push(current.take().unwrap());
                } else {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
    }
    blocks
}

/// The proxy's command line as `docs/proxy.md` shows it, without `meshroute`.
fn documented_command() -> Vec<String> {
    let commands: Vec<String> = doc_blocks()
        .iter()
        .filter(|(lang, _)| lang == "text")
        .flat_map(|(_, text)| text.lines().map(str::to_owned).collect::<Vec<_>>())
        .filter(|line| line.starts_with("meshroute proxy ") && line.contains(" --listen "))
        .collect();
    assert_eq!(commands.len(), 1, "docs/proxy.md shows one proxy command");
    let words: Vec<String> = commands[0]
        .split_whitespace()
        .skip(1)
        .map(str::to_owned)
        .collect();
    assert_eq!(
        words,
        [
            "proxy",
            "examples/proxy/backend.yaml",
            "--listen",
            "127.0.0.1:15001"
        ],
        "the command docs/proxy.md shows changed: update this test"
    );
    words
}

/// `examples/proxy/backend.yaml`, which `docs/proxy.md` shows whole.
fn documented_config() -> String {
    let file = std::fs::read_to_string(root().join("examples/proxy/backend.yaml")).unwrap();
    assert!(
        doc_blocks()
            .iter()
            .any(|(lang, text)| lang == "yaml" && *text == file),
        "docs/proxy.md must show examples/proxy/backend.yaml as it is"
    );
    file
}

/// A port nothing listens on now (bound, then released).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// What the upstream server saw.
#[derive(Default)]
struct Seen {
    /// Requests to `/api/unavailable`.
    unavailable: AtomicUsize,
    /// A request to `/api/slow` arrived.
    slow_started: Notify,
}

/// A loopback server: `/api/slow` answers after a second, `/api/unavailable` is always 503,
/// `/api/echo` answers the request body, anything else `upstream saw HOST PATH?QUERY`.
async fn upstream(seen: Arc<Seen>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new().fallback(move |request: Request| {
        let seen = seen.clone();
        async move {
            let path = request.uri().path_and_query().unwrap().as_str().to_owned();
            let host = request
                .headers()
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("-")
                .to_owned();
            match path.as_str() {
                "/api/slow" => {
                    seen.slow_started.notify_one();
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    (StatusCode::OK, "slow but done".to_owned())
                }
                "/api/echo" => {
                    let body = axum::body::to_bytes(request.into_body(), 1 << 20).await;
                    let body = body.map(|b| String::from_utf8_lossy(&b).into_owned());
                    (
                        StatusCode::OK,
                        body.unwrap_or_else(|e| format!("bad body: {e}")),
                    )
                }
                "/api/unavailable" => {
                    seen.unavailable.fetch_add(1, Ordering::SeqCst);
                    (StatusCode::SERVICE_UNAVAILABLE, "down".to_owned())
                }
                _ => (StatusCode::OK, format!("upstream saw {host} {path}")),
            }
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

/// The proxy process: its standard output line by line, its standard error when it ends.
struct Proxy {
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
}

impl Proxy {
    /// Runs `meshroute ARGS` in `dir` and waits for `meshroute proxy listening on
    /// 127.0.0.1:PORT`.
    async fn start(args: &[String], dir: &Path, port: u16) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_meshroute"))
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut proxy = Self { child, lines };
        let first = proxy.line().await;
        assert_eq!(
            first.as_deref(),
            Some(format!("meshroute proxy listening on 127.0.0.1:{port}").as_str()),
            "the proxy did not start; stderr:\n{}",
            proxy.stderr_if_ended().await
        );
        proxy
    }

    /// The next line of standard output (`None`: the output ended), within [`WAIT`].
    async fn line(&mut self) -> Option<String> {
        timeout(WAIT, self.lines.recv())
            .await
            .expect("no line on the proxy's standard output in time")
    }

    async fn stderr_if_ended(&mut self) -> String {
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            return "(still running)".to_owned();
        }
        let mut text = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = timeout(WAIT, stderr.read_to_string(&mut text)).await;
        }
        text
    }

    fn signal(&self, name: &str) {
        let pid = self.child.id().expect("the proxy is running").to_string();
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid)
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to end, within [`WAIT`].
    async fn exit(&mut self) -> ExitStatus {
        timeout(WAIT, self.child.wait())
            .await
            .expect("the proxy did not exit in time")
            .unwrap()
    }
}

/// A response as read off the wire.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `head` (a request line and headers, `Connection: close` added) on a new connection
/// to `port` and reads the whole response.
async fn send(port: u16, head: &str) -> Reply {
    send_with_body(port, head, "").await
}

/// Sends `head` (`Connection: close` added), then `body`, and reads the whole response.
async fn send_with_body(port: u16, head: &str, body: &str) -> Reply {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let request = format!("{head}\r\nConnection: close\r\n\r\n{body}");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        raw
    };
    let raw = timeout(WAIT, exchange)
        .await
        .expect("no response from the proxy in time");
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap();
    let headers = lines
        .map(|l| {
            let (name, value) = l.split_once(':').unwrap();
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect();
    Reply {
        status: status.parse().unwrap(),
        headers,
        body: body.to_owned(),
    }
}

/// One access-log line: everything but the start time and the duration, which must be well
/// formed.
fn log_entry(line: &str) -> String {
    let format = Regex::new(
        r#"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] (".*" \d{3} \S+) \d+ (".*" ".*")$"#,
    )
    .unwrap();
    let captures = format
        .captures(line)
        .unwrap_or_else(|| panic!("not an access-log line: {line}"));
    format!("{} {}", &captures[1], &captures[2])
}

/// A scratch directory holding `examples/proxy/backend.yaml` with its endpoint's port changed
/// from 9090 to `port`.
fn config_dir(name: &str, port: u16) -> PathBuf {
    let config = documented_config();
    let changed = config.replace("http: 9090", &format!("http: {port}"));
    assert_ne!(changed, config, "the endpoint port of backend.yaml moved");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("examples/proxy")).unwrap();
    std::fs::write(dir.join("examples/proxy/backend.yaml"), changed).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_proxy_routes_answers_locally_logs_and_stops_on_sigterm() {
    timeout(LIMIT, documented_proxy())
        .await
        .expect("the test did not finish within its time limit");
}

async fn documented_proxy() {
    let seen = Arc::new(Seen::default());
    let upstream_port = upstream(seen.clone()).await;
    let dir = config_dir("proxy-documented", upstream_port);
    let port = free_port();
    let args: Vec<String> = documented_command()
        .into_iter()
        .map(|a| a.replace("127.0.0.1:15001", &format!("127.0.0.1:{port}")))
        .collect();
    let mut proxy = Proxy::start(&args, &dir, port).await;
    let upstream = format!("\"127.0.0.1:{upstream_port}\"");

    // Origin-form: the Host header names the host called.
    let reply = send(port, "GET /api/hello HTTP/1.1\r\nHost: backend.example.com").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, "upstream saw backend.example.com /api/hello");
    assert_eq!(reply.header("x-meshroute-flags"), None, "{reply:?}");
    assert_eq!(
        log_entry(&proxy.line().await.unwrap()),
        format!("\"GET /api/hello HTTP/1.1\" 200 - \"backend.example.com\" {upstream}")
    );

    // Absolute-form (a client with HTTP_PROXY): the URI names it, whatever Host says.
    let reply = send(
        port,
        "GET http://backend.example.com/api/abs?x=1 HTTP/1.1\r\nHost: ignored.example",
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, "upstream saw backend.example.com /api/abs?x=1");
    assert_eq!(
        log_entry(&proxy.line().await.unwrap()),
        format!("\"GET /api/abs?x=1 HTTP/1.1\" 200 - \"backend.example.com\" {upstream}")
    );

    // Request bodies pass, with a length or chunked (hop-by-hop framing is the proxy's own).
    let reply = send_with_body(
        port,
        "POST /api/echo HTTP/1.1\r\nHost: backend.example.com\r\nContent-Length: 5",
        "hello",
    )
    .await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "hello"),
        "{reply:?}"
    );
    assert_eq!(
        log_entry(&proxy.line().await.unwrap()),
        format!("\"POST /api/echo HTTP/1.1\" 200 - \"backend.example.com\" {upstream}")
    );
    let reply = send_with_body(
        port,
        "POST /api/echo HTTP/1.1\r\nHost: backend.example.com\r\nTransfer-Encoding: chunked",
        "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    )
    .await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "abcde"),
        "{reply:?}"
    );
    proxy.line().await.unwrap();

    // The fault route: meshroute answers 418 itself, flag FI.
    let reply = send(
        port,
        "GET /teapot/pot HTTP/1.1\r\nHost: backend.example.com",
    )
    .await;
    assert_eq!(reply.status, 418, "{reply:?}");
    assert_eq!(reply.header("x-meshroute-flags"), Some("FI"), "{reply:?}");
    assert_eq!(reply.body, "fault filter abort");
    assert_eq!(
        log_entry(&proxy.line().await.unwrap()),
        "\"GET /teapot/pot HTTP/1.1\" 418 FI \"backend.example.com\" \"-\""
    );

    // No catch-all route: 404, flag NR.
    let reply = send(port, "GET /elsewhere HTTP/1.1\r\nHost: backend.example.com").await;
    assert_eq!(reply.status, 404, "{reply:?}");
    assert_eq!(reply.header("x-meshroute-flags"), Some("NR"), "{reply:?}");
    assert_eq!(
        log_entry(&proxy.line().await.unwrap()),
        "\"GET /elsewhere HTTP/1.1\" 404 NR \"backend.example.com\" \"-\""
    );

    // The route retries 503 twice; the upstream's last 503 is returned, flag URX.
    let reply = send(
        port,
        "GET /api/unavailable HTTP/1.1\r\nHost: backend.example.com",
    )
    .await;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert_eq!(reply.body, "down");
    assert_eq!(reply.header("x-meshroute-flags"), Some("URX"), "{reply:?}");
    assert_eq!(
        seen.unavailable.load(Ordering::SeqCst),
        3,
        "1 try + 2 retries"
    );
    assert_eq!(
        log_entry(&proxy.line().await.unwrap()),
        format!("\"GET /api/unavailable HTTP/1.1\" 503 URX \"backend.example.com\" {upstream}")
    );

    // No Host at all: the proxy cannot tell which host is called.
    let reply = send(port, "GET /api/hello HTTP/1.0").await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(
        log_entry(&proxy.line().await.unwrap()),
        "\"GET /api/hello HTTP/1.0\" 400 - \"-\" \"-\""
    );

    // SIGTERM while a request is in flight and another connection idles: the request
    // finishes, the idle connection is closed, the process exits 0.
    let slow = tokio::spawn(send(
        port,
        "GET /api/slow HTTP/1.1\r\nHost: backend.example.com",
    ));
    timeout(WAIT, seen.slow_started.notified())
        .await
        .expect("the slow request did not reach the upstream");
    let mut idle = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    proxy.signal("TERM");
    let status = proxy.exit().await;
    assert_eq!(
        status.code(),
        Some(0),
        "{status}; stderr:\n{}",
        proxy.stderr_if_ended().await
    );
    let reply = slow.await.unwrap();
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, "slow but done");
    assert_eq!(
        log_entry(&proxy.line().await.unwrap()),
        format!("\"GET /api/slow HTTP/1.1\" 200 - \"backend.example.com\" {upstream}")
    );
    assert_eq!(proxy.line().await, None, "one log line per request");
    let mut rest = Vec::new();
    let read = timeout(WAIT, idle.read_to_end(&mut rest)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the idle connection was not closed: {read:?}"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "the proxy still accepts connections"
    );
}

/// `--gateway` routes as that gateway; the seed's services have simulated endpoints only, so
/// the layer answers 503 UH; Ctrl-C (SIGINT) stops the proxy with status 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_proxy_never_dials_simulated_endpoints_and_stops_on_ctrl_c() {
    timeout(LIMIT, async {
        let port = free_port();
        let args: Vec<String> = [
            "proxy",
            "examples/seed/",
            "--gateway",
            "demo-gateway",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ]
        .map(str::to_owned)
        .to_vec();
        let mut proxy = Proxy::start(&args, &root(), port).await;

        let reply = send(port, "GET /greet?name=xx HTTP/1.1\r\nHost: localhost").await;
        assert_eq!(reply.status, 503, "{reply:?}");
        assert_eq!(reply.header("x-meshroute-flags"), Some("UH"), "{reply:?}");
        assert_eq!(reply.body, "no healthy upstream");
        assert_eq!(
            log_entry(&proxy.line().await.unwrap()),
            "\"GET /greet?name=xx HTTP/1.1\" 503 UH \"localhost\" \"-\""
        );

        // The gateway serves its hosts only.
        let reply = send(port, "GET /greet HTTP/1.1\r\nHost: svc-b:8080").await;
        assert_eq!(reply.status, 404, "{reply:?}");
        assert_eq!(reply.header("x-meshroute-flags"), Some("NR"), "{reply:?}");
        assert_eq!(
            log_entry(&proxy.line().await.unwrap()),
            "\"GET /greet HTTP/1.1\" 404 NR \"svc-b:8080\" \"-\""
        );

        proxy.signal("INT");
        let status = proxy.exit().await;
        assert_eq!(status.code(), Some(0), "{status}");
    })
    .await
    .expect("the test did not finish within its time limit");
}

/// Bad configurations and arguments are refused before listening, as `route` refuses them:
/// 1 for a configuration with errors, 2 for unreadable input, an unknown gateway, or an
/// address in use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configurations_are_refused_before_listening() {
    let invalid = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("proxy-invalid.yaml");
    std::fs::write(
        &invalid,
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: broken\nspec:\n  hosts: []\n",
    )
    .unwrap();
    let in_use = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = in_use.local_addr().unwrap().to_string();
    let free = format!("127.0.0.1:{}", free_port());
    let invalid = invalid.display().to_string();
    let cases: [(&[&str], i32, &str); 4] = [
        (
            &["proxy", &invalid, "--listen", &free],
            1,
            "must be provided",
        ),
        (
            &["proxy", "no/such/file.yaml", "--listen", &free],
            2,
            "no/such/file.yaml",
        ),
        (
            &[
                "proxy",
                "examples/seed/",
                "--gateway",
                "nope",
                "--listen",
                &free,
            ],
            2,
            "unknown gateway",
        ),
        (
            &["proxy", "examples/proxy/", "--listen", &taken],
            2,
            "cannot listen on",
        ),
    ];
    for (args, code, message) in cases {
        let run = Command::new(env!("CARGO_BIN_EXE_meshroute"))
            .args(args)
            .current_dir(root())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = timeout(WAIT, run)
            .await
            .unwrap_or_else(|_| panic!("{args:?} did not exit"))
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("listening"),
            "{args:?}"
        );
    }
    drop(in_use);
}

/// `-o json`: the access log in Istio's JSON format, which `meshroute simulate --requests`
/// replays into the same decision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_access_log_replays_through_simulate() {
    timeout(LIMIT, async {
        let port = free_port();
        let args: Vec<String> = [
            "proxy",
            "examples/seed/",
            "--gateway",
            "demo-gateway",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "-o",
            "json",
        ]
        .map(str::to_owned)
        .to_vec();
        let mut proxy = Proxy::start(&args, &root(), port).await;
        let reply = send(port, "GET /greet?name=xx HTTP/1.1\r\nHost: localhost").await;
        assert_eq!(reply.status, 503, "{reply:?}");
        let line = proxy.line().await.unwrap();
        let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(entry["method"], "GET");
        assert_eq!(entry["path"], "/greet?name=xx");
        assert_eq!(entry["authority"], "localhost");
        assert_eq!(entry["response_code"], 503);
        assert_eq!(entry["response_flags"], "UH");
        assert_eq!(entry["upstream_host"], "-");
        assert!(
            entry["start_time"].as_str().unwrap().ends_with('Z'),
            "{line}"
        );
        proxy.signal("TERM");
        assert_eq!(proxy.exit().await.code(), Some(0));

        let replay = std::process::Command::new(env!("CARGO_BIN_EXE_meshroute"))
            .args([
                "simulate",
                "examples/seed/",
                "--gateway",
                "default/demo-gateway",
                "--requests",
                "-",
            ])
            .current_dir(root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut replay = replay;
        {
            use std::io::Write as _;
            let mut input = replay.stdin.take().unwrap();
            writeln!(input, "{line}").unwrap();
        }
        let out = replay.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let decision: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            decision["destination"]["host"],
            "svc-a.default.svc.cluster.local"
        );
    })
    .await
    .expect("the test did not finish within its time limit");
}

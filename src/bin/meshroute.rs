//! The `meshroute` command-line tool: check Istio routing configuration offline.
//!
//! - `meshroute check PATH...` loads, validates and analyzes files or folders (`-` reads stdin),
//!   as `istioctl analyze` does; `--lint` adds meshroute's own warnings (MR001–MR005, see
//!   `meshroute::lint`). `--failure-threshold` and `--output-threshold` (`error`, `warning`,
//!   `info`) mean what they mean to istioctl. Exit status: 0 nothing at or above the failure
//!   threshold (default: error), 1 something is, 2 unreadable input or bad arguments.
//! - `meshroute route PATH... --request 'GET http://svc-b:8080/greet?name=xx'` decides one
//!   request, after printing the configuration's warnings to standard error (as `check` prints
//!   them); `--request 'tcp://host:port'` or `--request 'tls://sni:port'` one TCP or TLS
//!   connection (the `tcp` and `tls` rules). Exit status: 0 decided, 1 the configuration has
//!   errors, 2 unreadable input or bad arguments.
//! - `meshroute simulate PATH... --requests FILE.jsonl [--seed N] [--repeat N]` decides every
//!   request line (one decision JSON per line; with `--repeat`, one distribution JSON per
//!   line; with `--sticky-users N`, how N users of a sticky route spread), after printing the
//!   configuration's warnings to standard error. Exit status: 0 done, 1 the configuration has
//!   errors or a request line was bad (reported with its number, the others decided), 2
//!   unreadable input or bad arguments.
//! - `meshroute test PATH... [--config PATH]...` runs routing test files written for
//!   istio-config-validator (`testCases:`) or Envoy's `router_check_tool` (`tests:`) against
//!   Istio's semantics (`meshroute::sim::TestFiles`): one line per case, the details of each
//!   failure, a summary; `--json` prints one JSON object, `--junit FILE` also writes JUnit XML.
//!   Exit status: 0 every case passed, 1 a case failed, 2 no test file found, an unreadable or
//!   malformed test file, a configuration that cannot be loaded or that Istio would reject, or
//!   bad arguments.
//! - `meshroute proxy PATH... --listen 127.0.0.1:PORT` serves HTTP/1.1 and forwards each request
//!   through `meshroute::service::OutboundLayer` as the caller's sidecar (or `--gateway`) would,
//!   printing one access-log line per request (see `docs/proxy.md`). Exit status: 0 stopped by
//!   SIGTERM or Ctrl-C, 1 the configuration has errors, 2 unreadable input, bad arguments or an
//!   address it cannot listen on.
//!
//! Every subcommand refuses a resource with a field the Istio API does not have, as `kubectl
//! apply` does; `--allow-unknown-fields` reports it as a warning and ignores it.

#[cfg(feature = "kube")]
#[path = "meshroute/cluster.rs"]
mod cluster;
#[path = "meshroute/output.rs"]
mod output;
#[path = "meshroute/proxy.rs"]
mod proxy;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use meshroute::config::{Body, Resource};
use meshroute::sim::SimRequest;
use meshroute::{
    ConnectionDecision, Diagnostic, FastRng, LoadOptions, Loaded, NoEndpoint, Outcome, Severity,
    Source,
};
use output::{Color, Output, json, write_failed, yaml};

#[derive(Debug, Parser)]
#[command(
    name = "meshroute",
    version,
    about = "Istio routing decisions, offline or through a local proxy"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Istio's MeshConfig: the `istio` ConfigMap (`kubectl -n istio-system get cm istio -o
    /// yaml`) or the text of its `mesh` key. It replaces any `istio` ConfigMap among the
    /// manifests; without either, Istio's defaults apply.
    #[arg(long, global = true, value_name = "FILE")]
    mesh_config: Option<PathBuf>,
    /// Colour: `auto` (on a terminal, unless `NO_COLOR` is set), `always` or `never`.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    color: Color,
    /// Accept paths that hold nothing meshroute reads (no VirtualService, DestinationRule,
    /// Gateway, ServiceEntry, WorkloadEntry, Sidecar, Service, Deployment or Pod); without it
    /// they are an error (exit status 2), so that a CI job pointed at the wrong folder fails.
    #[arg(long, global = true)]
    allow_empty: bool,
}

/// `--allow-empty`, set once from the command line before any command runs.
static ALLOW_EMPTY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// What every subcommand that loads manifests accepts.
#[derive(Debug, clap::Args)]
struct LoadFlags {
    /// Report a field the Istio API does not have as a warning and ignore it, instead of an
    /// error that refuses its resource (for manifests written for a newer Istio).
    #[arg(long)]
    allow_unknown_fields: bool,
}

/// Who calls: what `route` and `proxy` decide as.
#[derive(Debug, clap::Args)]
struct SourceFlags {
    /// Decide as this gateway (`name` or `namespace/name`) instead of a sidecar; a Gateway the
    /// configuration does not define is refused (exit status 2).
    #[arg(long)]
    gateway: Option<String>,
    /// The calling workload's labels, `k=v,k2=v2`.
    #[arg(long, value_delimiter = ',')]
    source_labels: Vec<String>,
    /// The calling sidecar's namespace.
    #[arg(long, default_value = "default")]
    source_namespace: String,
    /// The caller's IP address.
    #[arg(long)]
    source_ip: Option<std::net::IpAddr>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load and validate manifests; list what was loaded and every problem found.
    Check {
        /// Files or folders (searched recursively for *.yaml, *.yml, *.json); `-` for stdin.
        #[cfg_attr(feature = "kube", arg(required_unless_present = "cluster"))]
        #[cfg_attr(not(feature = "kube"), arg(required = true))]
        paths: Vec<PathBuf>,
        /// What to print: `text`, `json` (`{"diagnostics":[...]}`), `yaml`, or `github`
        /// (GitHub Actions annotations, `::error file=…,line=…::…`).
        #[arg(
            short = 'o',
            long = "output",
            alias = "format",
            value_enum,
            default_value = "text"
        )]
        output: Output,
        /// The same as `-o json`.
        #[arg(long, conflicts_with = "output")]
        json: bool,
        /// The severity at which the exit status is 1, as `istioctl analyze`'s flag: `error`,
        /// `warning` or `info` (any case).
        #[arg(long, default_value = "error", value_name = "LEVEL")]
        failure_threshold: Severity,
        /// The lowest severity printed, as `istioctl analyze`'s flag: `error`, `warning` or
        /// `info` (any case).
        #[arg(long, default_value = "info", value_name = "LEVEL")]
        output_threshold: Severity,
        /// Exit 1 when there are warnings, not only errors (`--failure-threshold warning`).
        #[arg(long)]
        deny_warnings: bool,
        /// Also run meshroute's own lints (warnings MR001 shadowed match, MR002 subset without
        /// endpoints, MR003 destination without traffic, MR004 routing flag callers must forward,
        /// MR005 ring hash at its maximum size).
        #[arg(long)]
        lint: bool,
        /// Namespace for resources that do not name one (default `default`); with `--cluster`,
        /// the namespace read (default: the kubeconfig context's).
        #[arg(long)]
        namespace: Option<String>,
        #[cfg(feature = "kube")]
        #[command(flatten)]
        cluster: cluster::ClusterFlags,
        #[command(flatten)]
        load: LoadFlags,
    },
    /// Decide where one request goes.
    Route {
        /// Files or folders with the configuration; `-` for stdin.
        #[cfg_attr(feature = "kube", arg(required_unless_present = "cluster"))]
        #[cfg_attr(not(feature = "kube"), arg(required = true))]
        paths: Vec<PathBuf>,
        /// The request: `METHOD URL`, the URL absolute (its authority is the host being called);
        /// or a connection: `tcp://host:port` (opaque TCP) or `tls://sni:port` (TLS with that
        /// server name), decided with the `tcp` and `tls` rules.
        #[arg(long)]
        request: String,
        /// The destination address of a `tcp://` or `tls://` connection, which
        /// `destinationSubnets` are matched on (default: the service's own address).
        #[arg(long)]
        destination_ip: Option<std::net::IpAddr>,
        /// A request header, `Name: value` (repeatable).
        #[arg(short = 'H', long = "header")]
        headers: Vec<String>,
        #[command(flatten)]
        source: SourceFlags,
        /// Namespace for resources that do not name one and for a bare gateway name (default
        /// `default`); with `--cluster`, the namespace read (default: the kubeconfig context's).
        #[arg(long)]
        namespace: Option<String>,
        /// Seed for weighted choices (the same seed gives the same decision).
        #[arg(long)]
        seed: Option<u64>,
        /// What to print: `text`, `json` or `yaml`.
        #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
        output: Output,
        /// The same as `-o json`.
        #[arg(long, conflicts_with = "output")]
        json: bool,
        /// Also print why: each VirtualService considered, each route and match tried, the first
        /// condition that failed and the value seen.
        #[arg(long)]
        explain: bool,
        #[cfg(feature = "kube")]
        #[command(flatten)]
        cluster: cluster::ClusterFlags,
        #[command(flatten)]
        load: LoadFlags,
    },
    /// Serve HTTP/1.1 on a local address and forward each request as the caller's sidecar (or
    /// `--gateway`) would, with the route's retries, timeouts, faults, mirrors and circuit
    /// breaking; one access-log line per request on standard output.
    ///
    /// Only real endpoints are dialled: those of ServiceEntries, WorkloadEntries and Pods with
    /// `status.podIP`. A service whose endpoints meshroute made up for simulation (a
    /// Deployment's replicas) is answered 503 with flag UH; a host the configuration has no
    /// endpoints for is forwarded to the authority the client asked for. HTTP/1.1 only, no TLS.
    /// Stops on SIGTERM or Ctrl-C, letting requests in flight finish (up to 5 seconds).
    Proxy {
        /// Files or folders with the configuration; `-` for stdin.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The address to listen on, `IP:PORT` (port 0: any free port; the startup line says
        /// which).
        #[arg(long, value_name = "IP:PORT")]
        listen: std::net::SocketAddr,
        #[command(flatten)]
        source: SourceFlags,
        /// Namespace for resources that do not name one (and for a bare gateway name).
        #[arg(long, default_value = "default")]
        namespace: String,
        /// The access log: `text` (one line per request) or `json` (one object per request,
        /// with the keys of Istio's JSON access log, which `meshroute simulate --requests`
        /// replays).
        #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
        output: Output,
        #[command(flatten)]
        load: LoadFlags,
    },
    /// Run routing test files against Istio's semantics: istio-config-validator's `testCases`
    /// and Envoy router_check_tool's `tests`, unchanged. One line per case, the details of each
    /// failure (expected and actual, who sent the request, where the test expects what Istio
    /// does not do, the decision's explanation), a summary. Exit status: 0 every case passed, 1
    /// a case failed, 2 no test file found, a test file or configuration that cannot be read or
    /// run, or bad arguments.
    Test {
        /// Test files or folders (searched recursively for *.yaml, *.yml, *.json). The Istio and
        /// Kubernetes resources among them are the configuration under test, unless --config is
        /// given.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The configuration under test, instead of the resources among PATH: a file or folder
        /// (repeatable).
        #[arg(long, value_name = "PATH")]
        config: Vec<PathBuf>,
        /// Decide every case as a sidecar in this namespace (by default each case is sent by the
        /// proxy whose routes serve its authority); also the namespace of resources that name
        /// none.
        #[arg(long, conflicts_with = "gateway")]
        namespace: Option<String>,
        /// Decide every case as this gateway (`namespace/name`; a bare `name` is in `default`).
        #[arg(long, value_name = "NS/NAME")]
        gateway: Option<String>,
        /// What to print: `text`, `json` (one object) or `yaml`.
        #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
        output: Output,
        /// The same as `-o json`.
        #[arg(long, conflicts_with = "output")]
        json: bool,
        /// Also write the results as JUnit XML to FILE.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        #[command(flatten)]
        load: LoadFlags,
    },
    /// Decide every request of a JSON-lines file (one decision, or one distribution, per line).
    /// Compare two configurations: the requests whose route, destinations, traffic shares,
    /// rewrite, redirect or policies change, grouped by route.
    Diff {
        /// The configuration before: a file or a folder.
        old: PathBuf,
        /// The configuration after: a file or a folder.
        new: PathBuf,
        /// The requests to compare on (request lines or access logs, as `simulate` reads them);
        /// without it, requests generated from both configurations' match conditions: one that
        /// meets each match of each route, one that misses each of its conditions, and each
        /// host's default request.
        #[arg(long)]
        requests: Option<PathBuf>,
        /// What to print: `text`, `markdown` (a pull-request comment), `json` or `yaml`.
        #[arg(
            short = 'o',
            long = "output",
            alias = "format",
            value_enum,
            default_value = "text"
        )]
        output: Output,
        /// Exit status 1 when a request changes behaviour.
        #[arg(long)]
        fail_on_change: bool,
        /// For each sticky route (`meshroute.dev/sticky-key`) the requests reach, send N
        /// simulated users through both configurations and report how many move between
        /// destinations, and where from and to.
        #[arg(long, value_name = "N")]
        sticky_users: Option<u32>,
        /// Access-log entries were written by this gateway (`namespace/name`).
        #[arg(long, value_name = "NAMESPACE/NAME")]
        gateway: Option<String>,
        /// A key of a JSON access log that records a request header, `KEY=HEADER`; repeatable.
        #[arg(long, value_name = "KEY=HEADER")]
        log_header: Vec<String>,
        /// Namespace for resources that do not name one (and of the sidecar sending access-log
        /// entries).
        #[arg(long, default_value = "default")]
        namespace: String,
        #[command(flatten)]
        load: LoadFlags,
    },
    Simulate {
        /// Files or folders with the configuration; `-` for stdin.
        #[cfg_attr(feature = "kube", arg(required_unless_present = "cluster"))]
        #[cfg_attr(not(feature = "kube"), arg(required = true))]
        paths: Vec<PathBuf>,
        /// The requests, one per line, read as a stream: a JSON object
        /// (`{"method":"GET","url":"http://svc-b:8080/", "headers":{},"gateway":null,
        /// "sourceLabels":{},"sourceNamespace":"default", "sourceIp":null,"destinationIp":null}`,
        /// all but `url` optional, a `tcp://host:port` or `tls://sni:port` url for a connection),
        /// or an Envoy access-log entry in Istio's default text format or its JSON format; blank
        /// lines skipped; `-` for stdin. A bad request line is reported with its number and
        /// skipped (exit status 1 at the end); access-log entries that hold no HTTP request are
        /// counted and reported.
        #[arg(long)]
        requests: PathBuf,
        /// Access-log entries were written by this gateway (`namespace/name`): decide them as
        /// it; otherwise as a sidecar in `--namespace`.
        #[arg(long, value_name = "NAMESPACE/NAME")]
        gateway: Option<String>,
        /// A key of a JSON access log that records a request header, `KEY=HEADER`
        /// (`x_canary=x-canary`); repeatable. Istio's `user_agent`, `x_forwarded_for` and
        /// `request_id` are always read.
        #[arg(long, value_name = "KEY=HEADER")]
        log_header: Vec<String>,
        /// Seed: the request on line i (0-based, counting request lines only) is decided with
        /// seed + i, so every line replays alone with `route --seed`.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Decide each request N times (one random source seeded seed + i per line) and print
        /// the distribution of destinations and endpoints instead of one decision.
        #[arg(long)]
        repeat: Option<u64>,
        /// Send each request as N simulated users of its route's sticky key
        /// (`meshroute.dev/sticky-key`; keys `user-0`, `user-1`, ...) and print how many users
        /// each destination gets; `meshroute diff --sticky-users` shows who moves when weights
        /// change.
        #[arg(long, value_name = "N", conflicts_with = "repeat")]
        sticky_users: Option<u32>,
        /// What to print per request: `json` (one object per line), `yaml` (one document per
        /// request) or `text` (one line per request).
        #[arg(short = 'o', long = "output", value_enum, default_value = "json")]
        output: Output,
        /// Namespace for resources that do not name one, for a bare gateway name and for request
        /// lines that name none (default `default`); with `--cluster`, the namespace read
        /// (default: the kubeconfig context's).
        #[arg(long)]
        namespace: Option<String>,
        #[cfg(feature = "kube")]
        #[command(flatten)]
        cluster: cluster::ClusterFlags,
        #[command(flatten)]
        load: LoadFlags,
    },
    /// Read the configuration from a cluster (`--cluster`, one list of each kind) and write it
    /// as YAML files under DIR, one per namespace and kind (`DIR/NAMESPACE/KIND.yaml`), for
    /// offline `check`, `diff` and `test`.
    #[cfg(feature = "kube")]
    Dump {
        /// The folder to write into (created if needed; files of the same name are replaced).
        dir: PathBuf,
        /// The namespace read (default: the kubeconfig context's).
        #[arg(long)]
        namespace: Option<String>,
        #[command(flatten)]
        cluster: cluster::ClusterFlags,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.color.apply();
    ALLOW_EMPTY.store(cli.allow_empty, std::sync::atomic::Ordering::Relaxed);
    let mesh_config = cli.mesh_config.as_deref();
    match cli.command {
        Command::Check {
            paths,
            output,
            json,
            failure_threshold,
            output_threshold,
            deny_warnings,
            lint,
            namespace,
            #[cfg(feature = "kube")]
            cluster,
            load,
        } => {
            let input = match Input::of(
                &paths,
                #[cfg(feature = "kube")]
                &cluster,
                namespace.as_deref(),
            ) {
                Ok(input) => input,
                Err(code) => return code,
            };
            let namespace = namespace.as_deref().unwrap_or("default");
            let failure = if deny_warnings {
                failure_threshold.max(Severity::Warning)
            } else {
                failure_threshold
            };
            let accepted = [Output::Text, Output::Json, Output::Yaml, Output::Github];
            let output = match output.of(json, "check", &accepted) {
                Ok(output) => output,
                Err(message) => return usage(&message),
            };
            let args = CheckArgs {
                output,
                failure,
                shown: output_threshold,
                lint,
            };
            check(&input, &args, &options(namespace, &load), mesh_config)
        }
        Command::Route {
            paths,
            request,
            destination_ip,
            headers,
            source,
            namespace,
            seed,
            output,
            json,
            explain,
            #[cfg(feature = "kube")]
            cluster,
            load,
        } => {
            let input = match Input::of(
                &paths,
                #[cfg(feature = "kube")]
                &cluster,
                namespace.as_deref(),
            ) {
                Ok(input) => input,
                Err(code) => return code,
            };
            let options = options(namespace.as_deref().unwrap_or("default"), &load);
            let output = match output.of(json, "route", &[Output::Text, Output::Json, Output::Yaml])
            {
                Ok(output) => output,
                Err(message) => return usage(&message),
            };
            let args = RouteArgs {
                explain,
                request,
                destination_ip,
                headers,
                source,
                namespace: namespace.clone().unwrap_or_else(|| "default".to_owned()),
                seed,
                output,
            };
            route(&input, &args, &options, mesh_config)
        }
        Command::Proxy {
            paths,
            listen,
            source,
            namespace,
            output,
            load,
        } => {
            let log = match output.of(false, "proxy", &[Output::Text, Output::Json]) {
                Ok(Output::Json) => proxy::LogFormat::Json,
                Ok(_) => proxy::LogFormat::Text,
                Err(message) => return usage(&message),
            };
            let source = match caller(&source, &namespace) {
                Ok(source) => source,
                Err(message) => return usage(&message),
            };
            let input = Input::Files(&paths);
            match compiled(&input, &options(&namespace, &load), mesh_config, &source) {
                Ok(mesh) => proxy::run(mesh, source, listen, log),
                Err(code) => code,
            }
        }
        Command::Test {
            paths,
            config,
            namespace,
            gateway,
            output,
            json,
            junit,
            load,
        } => {
            let output = match output.of(json, "test", &[Output::Text, Output::Json, Output::Yaml])
            {
                Ok(output) => output,
                Err(message) => return usage(&message),
            };
            let args = TestArgs {
                paths,
                config,
                namespace,
                gateway,
                output,
                junit,
            };
            test(&args, &load, mesh_config)
        }
        Command::Diff {
            old,
            new,
            requests,
            output,
            fail_on_change,
            sticky_users,
            gateway,
            log_header,
            namespace,
            load,
        } => {
            let accepted = [Output::Text, Output::Markdown, Output::Json, Output::Yaml];
            let output = match output.of(false, "diff", &accepted) {
                Ok(output) => output,
                Err(message) => return usage(&message),
            };
            let options = options(&namespace, &load);
            let source = requests.as_ref().map(|path| RequestSource {
                path,
                namespace: &namespace,
                gateway: gateway.as_deref(),
                log_headers: &log_header,
            });
            diff(
                [&old, &new],
                source.as_ref(),
                output,
                DiffFlags {
                    fail_on_change,
                    sticky_users,
                },
                &options,
                mesh_config,
            )
        }
        Command::Simulate {
            paths,
            requests,
            gateway,
            log_header,
            seed,
            repeat,
            sticky_users,
            output,
            namespace,
            #[cfg(feature = "kube")]
            cluster,
            load,
        } => {
            let input = match Input::of(
                &paths,
                #[cfg(feature = "kube")]
                &cluster,
                namespace.as_deref(),
            ) {
                Ok(input) => input,
                Err(code) => return code,
            };
            let namespace = namespace.as_deref().unwrap_or("default");
            simulate(
                &input,
                &RequestSource {
                    path: &requests,
                    namespace,
                    gateway: gateway.as_deref(),
                    log_headers: &log_header,
                },
                seed,
                match (repeat, sticky_users) {
                    (_, Some(users)) => Spread::Users(users),
                    (Some(n), None) => Spread::Draws(n),
                    (None, None) => Spread::Once,
                },
                output,
                &options(namespace, &load),
                mesh_config,
            )
        }
        #[cfg(feature = "kube")]
        Command::Dump {
            dir,
            namespace,
            cluster,
        } => {
            if !cluster.cluster {
                return usage("dump reads a cluster: give --cluster");
            }
            let target = cluster::Target {
                flags: &cluster,
                namespace: namespace.as_deref(),
            };
            cluster::dump(&target, &dir)
        }
    }
}

fn options(namespace: &str, flags: &LoadFlags) -> LoadOptions {
    LoadOptions::default()
        .default_namespace(namespace)
        .allow_unknown_fields(flags.allow_unknown_fields)
}

/// Where a command's configuration comes from: files and folders (`-` for stdin) or, with
/// `--cluster`, a cluster.
enum Input<'a> {
    Files(&'a [PathBuf]),
    #[cfg(feature = "kube")]
    Cluster(cluster::Target<'a>),
}

impl<'a> Input<'a> {
    /// The input the command line asks for: paths, or `--cluster` (and then no path).
    fn of(
        paths: &'a [PathBuf],
        #[cfg(feature = "kube")] cluster: &'a cluster::ClusterFlags,
        #[cfg_attr(not(feature = "kube"), allow(unused_variables))] namespace: Option<&'a str>,
    ) -> Result<Self, ExitCode> {
        #[cfg(feature = "kube")]
        if cluster.cluster {
            if !paths.is_empty() {
                return Err(usage(
                    "--cluster reads the configuration from the cluster: give no PATH",
                ));
            }
            return Ok(Input::Cluster(cluster::Target {
                flags: cluster,
                namespace,
            }));
        }
        Ok(Input::Files(paths))
    }

    /// Whether the configuration is read from standard input.
    fn reads_stdin(&self) -> bool {
        match self {
            Input::Files(paths) => paths.iter().any(|p| p.as_os_str() == "-"),
            #[cfg(feature = "kube")]
            Input::Cluster(_) => false,
        }
    }

    /// What was read, for a message.
    fn describe(&self) -> String {
        match self {
            Input::Files(paths) => {
                let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                names.join(", ")
            }
            #[cfg(feature = "kube")]
            Input::Cluster(_) => "the cluster".to_owned(),
        }
    }
}

/// Loads the configuration of `input`, then `--mesh-config` (last, so that it wins).
fn load(
    input: &Input<'_>,
    options: &LoadOptions,
    mesh_config: Option<&std::path::Path>,
) -> Result<Loaded, ExitCode> {
    let mut loaded = Loaded::default();
    match input {
        Input::Files(paths) => {
            for path in *paths {
                match meshroute::from_path(path, options) {
                    Ok(more) => loaded.extend(more),
                    Err(error) => {
                        eprintln!("meshroute: {error}");
                        return Err(ExitCode::from(2));
                    }
                }
            }
        }
        #[cfg(feature = "kube")]
        Input::Cluster(target) => loaded = target.load()?,
    }
    // A path that yields nothing meshroute reads (only ignored kinds, non-objects, nothing):
    // a job pointed at the wrong folder. A refused document counts as found (its error says
    // what is wrong with it).
    let found = loaded
        .resources
        .iter()
        .any(|r| !matches!(r.body, Body::Ignored { .. }))
        || loaded
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error);
    if !found && !ALLOW_EMPTY.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!(
            "meshroute: no VirtualService, DestinationRule, Gateway, ServiceEntry, WorkloadEntry, Sidecar, Service, Deployment or Pod found in {} (--allow-empty accepts that)",
            input.describe()
        );
        return Err(ExitCode::from(2));
    }
    if let Some(path) = mesh_config {
        match std::fs::read_to_string(path) {
            Ok(text) => loaded.extend(meshroute::mesh_config_from_str(
                &text,
                Some(&path.display().to_string()),
            )),
            Err(error) => {
                eprintln!("meshroute: cannot read {}: {error}", path.display());
                return Err(ExitCode::from(2));
            }
        }
    }
    Ok(loaded)
}

struct CheckArgs {
    output: Output,
    /// Exit 1 when a diagnostic is at least this severe.
    failure: Severity,
    /// Print the diagnostics at least this severe.
    shown: Severity,
    lint: bool,
}

fn check(
    input: &Input<'_>,
    args: &CheckArgs,
    options: &LoadOptions,
    mesh_config: Option<&std::path::Path>,
) -> ExitCode {
    let loaded = match load(input, options, mesh_config) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let mut diagnostics = loaded.diagnostics.clone();
    diagnostics.extend(meshroute::check(&loaded.resources));
    if args.lint {
        diagnostics.extend(meshroute::lint(&loaded.resources));
    }
    // istioctl decides the exit status on every message, whatever the output threshold shows.
    let failed = diagnostics
        .iter()
        .any(|d| d.severity.is_at_least(args.failure));
    let shown: Vec<&Diagnostic> = diagnostics
        .iter()
        .filter(|d| d.severity.is_at_least(args.shown))
        .collect();

    use std::io::Write as _;
    let mut out = output::stdout();
    let written = match args.output {
        Output::Json => print_json(&mut out, &shown),
        Output::Yaml => write!(
            out,
            "{}",
            yaml(&CheckReport {
                diagnostics: &shown
            })
        ),
        Output::Github => shown
            .iter()
            .try_for_each(|d| writeln!(out, "{}", output::github(d))),
        Output::Text | Output::Markdown => print_human(&mut out, &loaded, &shown),
    };
    if let Err(error) = written.and_then(|()| out.flush()) {
        return write_failed(&error);
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[derive(serde::Serialize)]
struct CheckReport<'a> {
    diagnostics: &'a [&'a Diagnostic],
}

fn print_json(out: &mut impl std::io::Write, diagnostics: &[&Diagnostic]) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, &CheckReport { diagnostics })?;
    writeln!(out)
}

fn print_human(
    out: &mut impl std::io::Write,
    loaded: &Loaded,
    diagnostics: &[&Diagnostic],
) -> std::io::Result<()> {
    let count = |severity| {
        diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    };
    // The definition that takes effect for each kind and name.
    let effective: HashMap<(&str, String), &Resource> =
        meshroute::config::effective(&loaded.resources)
            .into_iter()
            .map(|r| ((r.kind(), r.key()), r))
            .collect();
    let mut files: Vec<&str> = loaded
        .resources
        .iter()
        .filter_map(|r| r.origin.file.as_deref())
        .collect();
    files.sort_unstable();
    files.dedup();
    // Resources read from a cluster come from no file.
    let from = match files.len() {
        0 => String::new(),
        n => format!(" from {n} file(s)"),
    };
    writeln!(out, "loaded {} resource(s){from}:", loaded.resources.len())?;
    for resource in &loaded.resources {
        let at = match (&resource.origin.file, resource.origin.line) {
            (Some(file), Some(line)) => format!("{file}:{line}"),
            (Some(file), None) => file.to_string(),
            _ => String::new(),
        };
        let mut note = String::new();
        match &resource.body {
            Body::Ignored { .. } => {
                note.push_str("  (ignored: meshroute does not route on this kind)");
            }
            Body::WeightController(c) => note.push_str(&format!(
                "  (sets the weights of {}: read by the lints)",
                match c.virtual_services.as_slice() {
                    [] => "no VirtualService".to_owned(),
                    names => format!("VirtualService {}", names.join(", ")),
                }
            )),
            _ => {}
        }
        let replaced_by = effective
            .get(&(resource.kind(), resource.key()))
            .filter(|r| r.origin != resource.origin);
        if let Some(later) = replaced_by {
            let file = later.origin.file.as_deref().unwrap_or("");
            let line = later
                .origin
                .line
                .map(|l| format!(":{l}"))
                .unwrap_or_default();
            note.push_str(&format!(
                "  (replaced by the later definition at {file}{line})"
            ));
        }
        writeln!(
            out,
            "  {:<16} {:<40} {at}{note}",
            resource.kind(),
            resource.key()
        )?;
    }
    print_diagnostics(out, diagnostics.iter().copied())?;
    writeln!(
        out,
        "{} error(s), {} warning(s), {} info",
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    )
}

/// Diagnostics as `check` prints them: one line each, `file:line: severity[code]: Kind
/// namespace/name: path: message`.
fn print_diagnostics<'a>(
    out: &mut impl std::io::Write,
    diagnostics: impl IntoIterator<Item = &'a Diagnostic>,
) -> std::io::Result<()> {
    for diagnostic in diagnostics {
        writeln!(out, "{}", output::styled_diagnostic(diagnostic))?;
    }
    Ok(())
}

/// What `route` and `simulate` print to standard error before deciding: the compiled
/// configuration's warnings (load, validation and analysis findings at warning level or
/// worse, such as a redefined resource, an allowed unknown field or a missing subset); info
/// findings are left to `check`.
fn print_warnings(mesh: &meshroute::Mesh) -> std::io::Result<()> {
    let warnings = mesh
        .diagnostics()
        .iter()
        .filter(|d| d.severity.is_at_least(Severity::Warning));
    print_diagnostics(&mut output::stderr(), warnings)
}

/// The errors that refused a configuration, to standard error; exit status 1.
fn refused<'a>(errors: impl IntoIterator<Item = &'a Diagnostic>) -> ExitCode {
    match print_diagnostics(&mut output::stderr(), errors) {
        Ok(()) => ExitCode::from(1),
        Err(_) => ExitCode::from(2),
    }
}

struct RouteArgs {
    request: String,
    destination_ip: Option<std::net::IpAddr>,
    headers: Vec<String>,
    source: SourceFlags,
    namespace: String,
    seed: Option<u64>,
    output: Output,
    explain: bool,
}

fn usage(message: &str) -> ExitCode {
    eprintln!("meshroute: {message}");
    ExitCode::from(2)
}

/// What `route --gateway` and `simulate` say about a gateway the configuration does not define.
fn unknown_gateway(gateway: &str) -> String {
    format!(
        "unknown gateway {gateway:?}: the configuration has no Gateway of that namespace and name"
    )
}

/// The caller `--gateway`, `--source-namespace`, `--source-labels` and `--source-ip` describe
/// (a bare gateway name is in `namespace`).
fn caller(flags: &SourceFlags, namespace: &str) -> Result<Source, String> {
    let mut labels = Vec::new();
    for pair in flags.source_labels.iter().filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some((k, v)) => labels.push((k.trim().to_owned(), v.trim().to_owned())),
            None => {
                return Err(format!(
                    "invalid --source-labels entry {pair:?}: expected k=v"
                ));
            }
        }
    }
    let mut source = match &flags.gateway {
        Some(name) if name.contains('/') => Source::gateway(name),
        Some(name) => Source::gateway(&format!("{namespace}/{name}")),
        None => Source::sidecar(flags.source_namespace.clone()),
    }
    .with_labels(labels);
    if let Some(ip) = flags.source_ip {
        source = source.with_ip(ip);
    }
    Ok(source)
}

/// Loads and compiles the configuration for `source`, then prints its warnings to standard
/// error: exit status 2 for unreadable input or a gateway the configuration does not define, 1
/// for a configuration with errors (printed).
fn compiled(
    input: &Input<'_>,
    options: &LoadOptions,
    mesh_config: Option<&std::path::Path>,
    source: &Source,
) -> Result<meshroute::Mesh, ExitCode> {
    let mesh = load(input, options, mesh_config)?
        .compile()
        .map_err(|error| refused(error.errors()))?;
    if let Some(gateway) = source.gateway_name().filter(|g| !mesh.has_gateway(g)) {
        return Err(usage(&unknown_gateway(gateway)));
    }
    if print_warnings(&mesh).is_err() {
        return Err(ExitCode::from(2));
    }
    Ok(mesh)
}

/// Builds the request from `METHOD URL` and `Name: value` headers.
fn build_request(args: &RouteArgs) -> Result<http::Request<()>, String> {
    let (method, url) = args
        .request
        .trim()
        .split_once(char::is_whitespace)
        .ok_or("--request must be 'METHOD URL', e.g. 'GET http://svc-b:8080/greet?name=xx'")?;
    let mut request = meshroute::sim::SimRequest::new(method, url.trim());
    for header in &args.headers {
        request = request.header_line(header).map_err(|e| e.to_string())?;
    }
    request.build().map_err(|e| e.to_string())
}

/// What `--request` asks: an HTTP request, or a connection (`tcp://`, `tls://`).
enum Asked {
    Http(http::Request<()>),
    Connection(SimRequest),
}

fn asked(args: &RouteArgs) -> Result<Asked, String> {
    let mut request = SimRequest::get(args.request.trim());
    if let Some(ip) = args.destination_ip {
        request = request.destination_ip(ip);
    }
    let connection = request
        .connection()
        .map(|c| c.map(|_| ()).map_err(|e| e.to_string()));
    match connection {
        Some(Err(message)) => Err(message),
        Some(Ok(())) if !args.headers.is_empty() => {
            Err("-H does not apply to a tcp:// or tls:// connection".to_owned())
        }
        Some(Ok(())) => Ok(Asked::Connection(request)),
        None if args.destination_ip.is_some() => {
            Err("--destination-ip applies to tcp:// and tls:// connections only".to_owned())
        }
        None => build_request(args).map(Asked::Http),
    }
}

fn route(
    input: &Input<'_>,
    args: &RouteArgs,
    options: &LoadOptions,
    mesh_config: Option<&std::path::Path>,
) -> ExitCode {
    let asked = match asked(args) {
        Ok(asked) => asked,
        Err(message) => return usage(&message),
    };
    let source = match caller(&args.source, &args.namespace) {
        Ok(source) => source,
        Err(message) => return usage(&message),
    };
    let mesh = match compiled(input, options, mesh_config, &source) {
        Ok(mesh) => mesh,
        Err(code) => return code,
    };
    let mut rng = match args.seed {
        Some(seed) => FastRng::from_seed(seed),
        None => FastRng::from_entropy(),
    };
    let (report, explanation, text) = match &asked {
        Asked::Http(request) => {
            let (decision, explanation) = mesh.explain(request, &source, &mut rng);
            (decision.report(), explanation, describe(&decision))
        }
        Asked::Connection(request) => {
            let Some(Ok(connection)) = request.connection() else {
                return usage("invalid connection");
            };
            let (decision, explanation) = mesh.explain_connection(&connection, &source, &mut rng);
            (
                decision.report(),
                explanation,
                describe_connection(&decision),
            )
        }
    };
    let explained = || Explained {
        decision: report.clone(),
        explain: &explanation,
    };
    let text = match (args.output, args.explain) {
        (Output::Json, false) => json(&report),
        (Output::Json, true) => json(&explained()),
        (Output::Yaml, false) => yaml(&report),
        (Output::Yaml, true) => yaml(&explained()),
        (_, false) => text,
        (_, true) => format!("{}\n{text}", output::styled_trace(&explanation.to_string())),
    };
    match output::print(text.trim_end()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

/// A decision with its explanation: the decision's keys plus `explain`.
#[derive(serde::Serialize)]
struct Explained<'a> {
    #[serde(flatten)]
    decision: meshroute::DecisionReport,
    explain: &'a meshroute::Explanation,
}

fn rule(r: Option<meshroute::RuleRef<'_>>) -> String {
    match r {
        Some(r) => match r.name {
            Some(name) => format!("#{} ({name})", r.index),
            None => format!("#{}", r.index),
        },
        None => "-".to_owned(),
    }
}

/// A readable summary of a decision.
fn describe(d: &meshroute::Decision<'_>) -> String {
    let mut lines = Vec::new();
    let headline = match d.outcome() {
        Outcome::Route => "route",
        Outcome::Redirect => "redirect",
        Outcome::DirectResponse => "direct response",
        Outcome::NoRoute => "no route (Envoy answers 404, flag NR)",
        Outcome::NoVirtualService => "no VirtualService for this host: default routing",
        Outcome::BlackHole => {
            "no service for this host and port, and REGISTRY_ONLY: BlackHoleCluster (Envoy answers 502)"
        }
        _ => "other",
    };
    lines.push(headline.to_owned());
    if let Some(vs) = d.virtual_service() {
        let matched = if d.route().is_some() {
            rule(d.matched())
        } else {
            "-".to_owned()
        };
        lines.push(format!(
            "  virtual service: {vs}, http route {}, match {matched}",
            rule(d.route())
        ));
    }
    lines.extend(destination_line(
        d.destination(),
        "Envoy answers 503, flag NC",
    ));
    if let Some(key) = d.sticky_key() {
        lines.push(match d.sticky_bucket() {
            Some(bucket) => format!("  sticky: {key}, bucket {bucket} of {}", 1u32 << 20),
            None => format!("  sticky: {key} absent from the request: chosen at random"),
        });
    }
    lines.extend(endpoint_line(
        d.endpoint(),
        d.no_endpoint(),
        "Envoy answers 503, flag UH",
    ));
    if let Some(location) = d.redirect_location() {
        lines.push(format!(
            "  redirect: {} {location}",
            d.redirect_status().unwrap_or(301)
        ));
    }
    if let Some(response) = d.direct_response() {
        let body = response
            .body()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        lines.push(format!(
            "  direct response: {} {body}",
            response.status().as_u16()
        ));
    }
    if let Some(path) = d.rewritten_path_and_query() {
        lines.push(format!("  rewrite path: {path}"));
    }
    if let Some(authority) = d.authority_rewrite() {
        lines.push(format!("  rewrite authority: {authority}"));
    }
    for (label, ops) in [
        ("request headers", d.request_headers()),
        ("response headers", d.response_headers()),
    ] {
        if ops.is_empty() {
            continue;
        }
        let mut parts: Vec<String> = ops.remove.iter().map(|n| format!("-{n}")).collect();
        parts.extend(ops.ops.iter().map(|op| {
            let value = String::from_utf8_lossy(op.value.as_bytes());
            format!("{}{}: {value}", if op.append { "+" } else { "=" }, op.name)
        }));
        lines.push(format!("  {label}: {}", parts.join(", ")));
    }
    if d.outcome() == Outcome::Route {
        let timeout = d.timeout().map_or("none".to_owned(), |t| format!("{t:?}"));
        lines.push(format!("  timeout: {timeout}"));
        match d.retries() {
            Some(r) => lines.push(match r.per_try_timeout {
                Some(t) => format!("  retries: {} on {}, {t:?} per try", r.attempts, r.retry_on),
                None => format!("  retries: {} on {}", r.attempts, r.retry_on),
            }),
            None => lines.push("  retries: none".to_owned()),
        }
    }
    if let Some(fault) = d.fault() {
        let mut parts = Vec::new();
        if let Some((delay, percent)) = fault.delay {
            parts.push(format!("delay {delay:?} to {percent}% of requests"));
        }
        match &fault.abort {
            Some((meshroute::Abort::Http(status), percent)) => {
                parts.push(format!("abort {status} to {percent}% of requests"));
            }
            Some((meshroute::Abort::Grpc(status), percent)) => {
                parts.push(format!(
                    "abort grpc-status {status} to {percent}% of requests"
                ));
            }
            _ => {}
        }
        lines.push(format!("  fault: {}", parts.join("; ")));
    }
    for mirror in d.mirrors() {
        lines.push(format!("  mirror: {} {}%", mirror.host, mirror.percentage));
    }
    lines.join("\n")
}

/// `  destination: host subset s port p`, noting what Envoy does when no DestinationRule defines
/// the subset.
fn destination_line(dest: Option<meshroute::DestinationRef<'_>>, missing: &str) -> Option<String> {
    let dest = dest?;
    let mut line = format!("  destination: {}", dest.host);
    if let Some(subset) = dest.subset {
        line.push_str(&format!(" subset {subset}"));
    }
    if let Some(port) = dest.port {
        line.push_str(&format!(" port {port}"));
    }
    if !dest.cluster_exists {
        let why = if dest.subset.is_some() {
            "no cluster: no DestinationRule the caller sees defines this subset, or the service is not visible to it"
        } else {
            "no cluster: the service is not visible to the caller"
        };
        line.push_str(&format!("  ({why}; {missing})"));
    }
    Some(line)
}

/// `  endpoint: address (name, simulated address)`, or why there is none.
fn endpoint_line(
    endpoint: Option<&meshroute::Endpoint>,
    no_endpoint: Option<NoEndpoint>,
    unhealthy: &str,
) -> Option<String> {
    if let Some(endpoint) = endpoint {
        let mut notes: Vec<&str> = endpoint.name.as_deref().into_iter().collect();
        if endpoint.is_synthetic() {
            notes.push("simulated address");
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join(", "))
        };
        return Some(format!("  endpoint: {}{notes}", endpoint.address));
    }
    Some(match no_endpoint? {
        NoEndpoint::NoHealthyUpstream => format!("  endpoint: none healthy ({unhealthy})"),
        _ => "  endpoint: passthrough to the original destination".to_owned(),
    })
}

/// A readable summary of a connection's decision.
fn describe_connection(d: &ConnectionDecision<'_>) -> String {
    let mut lines = Vec::new();
    lines.push(
        match d.outcome() {
            Outcome::Route => "route",
            Outcome::NoVirtualService => {
                "no tcp or tls rule applies: the service's own filter chain (default routing)"
            }
            Outcome::Passthrough => {
                "passthrough: the connection goes to its original destination, unrouted"
            }
            Outcome::Closed => "closed: no filter chain matches, Envoy closes the connection",
            Outcome::Http => {
                "http: the listener serves HTTP (decide its requests with --request 'METHOD URL')"
            }
            _ => "other",
        }
        .to_owned(),
    );
    if let (Some(vs), Some(kind)) = (d.virtual_service(), d.kind()) {
        lines.push(format!(
            "  virtual service: {vs}, {} route {}, match {}",
            kind.as_str(),
            rule(d.route()),
            rule(d.matched())
        ));
    }
    lines.extend(destination_line(
        d.destination(),
        "no cluster, the connection is closed",
    ));
    lines.extend(endpoint_line(
        d.endpoint(),
        d.no_endpoint(),
        "Envoy closes the connection, flag UH",
    ));
    lines.join("\n")
}

/// What `meshroute diff` reports beyond the changes, and when it fails.
struct DiffFlags {
    fail_on_change: bool,
    sticky_users: Option<u32>,
}

/// `meshroute diff`: the changes of behaviour between two configurations.
fn diff(
    sides: [&PathBuf; 2],
    requests: Option<&RequestSource<'_>>,
    output: Output,
    flags: DiffFlags,
    options: &LoadOptions,
    mesh_config: Option<&std::path::Path>,
) -> ExitCode {
    use meshroute::sim::Simulation;
    use std::io::Write as _;

    let open =
        |side: &PathBuf| -> Result<(Vec<meshroute::config::Resource>, Simulation), ExitCode> {
            let one = load(
                &Input::Files(std::slice::from_ref(side)),
                options,
                mesh_config,
            )?;
            let resources = one.resources.clone();
            match one.compile() {
                Ok(mesh) => Ok((resources, Simulation::from_mesh(mesh))),
                Err(error) => Err(refused(error.errors())),
            }
        };
    let [old_side, new_side] = sides;
    let (old_resources, old) = match open(old_side) {
        Ok(side) => side,
        Err(code) => return code,
    };
    let (new_resources, new) = match open(new_side) {
        Ok(side) => side,
        Err(code) => return code,
    };
    let mut bad = BadLines::default();
    let mut report = match requests {
        Some(source) => {
            let lines = match source.open() {
                Ok(lines) => lines,
                Err(code) => return code,
            };
            let requests = lines.filter_map(|line| match line.request {
                Ok(request) => Some(request),
                Err(ref error) => {
                    bad.report(source.path, &line, &error.to_string());
                    None
                }
            });
            meshroute::sim::diff(&old, &new, requests)
        }
        None => meshroute::sim::diff(
            &old,
            &new,
            meshroute::sim::generate(&old_resources, &new_resources),
        ),
    };
    if let Some(users) = flags.sticky_users {
        // The same requests again (a request file is read a second time; its bad lines were
        // reported already).
        report.sticky_users = match requests {
            Some(source) => match source.open() {
                Ok(lines) => meshroute::sim::sticky_users(
                    &old,
                    &new,
                    lines.filter_map(|line| line.request.ok()),
                    users,
                ),
                Err(code) => return code,
            },
            None => meshroute::sim::sticky_users(
                &old,
                &new,
                meshroute::sim::generate(&old_resources, &new_resources),
                users,
            ),
        };
    }
    let text = match output {
        Output::Markdown => report.markdown(),
        Output::Json => json(&report),
        Output::Yaml => yaml(&report),
        Output::Text | Output::Github => report.to_string(),
    };
    let mut out = std::io::stdout().lock();
    if let Err(error) = writeln!(out, "{}", text.trim_end()) {
        return write_failed(&error);
    }
    let code = bad.finish(report.requests as u64);
    if flags.fail_on_change && report.changed() > 0 {
        ExitCode::from(1)
    } else {
        code
    }
}

/// One decision on one line: `LINE: action VirtualService route -> host subset port
/// (endpoint)`.
fn decision_text(number: usize, d: &meshroute::DecisionReport) -> String {
    let mut text = format!("{number}: {}", d.action);
    if let Some(vs) = &d.virtual_service {
        text.push_str(&format!(" {vs}"));
    }
    if let Some(route) = &d.route {
        text.push_str(&format!(" {}[{}]", route.kind, route.index));
    }
    if let Some(dest) = &d.destination {
        text.push_str(&format!(" -> {}", dest.host));
        if let Some(subset) = &dest.subset {
            text.push_str(&format!(" subset {subset}"));
        }
        if let Some(port) = dest.port {
            text.push_str(&format!(" port {port}"));
        }
    }
    if let Some(endpoint) = &d.endpoint {
        text.push_str(&format!(" ({})", endpoint.address));
    }
    if let Some(status) = d.local_status {
        text.push_str(&format!(" [answers {status}]"));
    }
    text
}

/// A distribution on one line: `LINE: host subset: share, ...` over the decisions made.
fn distribution_text(number: usize, d: &meshroute::sim::Distribution) -> String {
    let shares: Vec<String> = d
        .destinations
        .iter()
        .map(|c| {
            let subset = c
                .subset
                .as_deref()
                .map(|s| format!(" {s}"))
                .unwrap_or_default();
            let percent = (c.count as f64) * 100.0 / (d.total.max(1) as f64);
            format!("{}{subset} {percent:.2}%", c.host)
        })
        .collect();
    format!("{number}: {} decisions: {}", d.total, shares.join(", "))
}

/// Where `--requests` come from and how their access-log entries are read.
struct RequestSource<'a> {
    path: &'a std::path::Path,
    namespace: &'a str,
    gateway: Option<&'a str>,
    log_headers: &'a [String],
}

impl RequestSource<'_> {
    /// The request lines, streamed; `Err` with the exit code of a usage error.
    fn open(&self) -> Result<meshroute::sim::RequestLines<Box<dyn std::io::BufRead>>, ExitCode> {
        let reader: Box<dyn std::io::BufRead> = if self.path == std::path::Path::new("-") {
            Box::new(std::io::BufReader::new(std::io::stdin()))
        } else {
            match std::fs::File::open(self.path) {
                Ok(file) => Box::new(std::io::BufReader::with_capacity(1 << 16, file)),
                Err(error) => {
                    return Err(usage(&format!(
                        "cannot read {}: {error}",
                        self.path.display()
                    )));
                }
            }
        };
        let mut lines = meshroute::sim::RequestLines::new(reader).namespace(self.namespace);
        if let Some(gateway) = self.gateway {
            let name = if gateway.contains('/') {
                gateway.to_owned()
            } else {
                format!("{}/{gateway}", self.namespace)
            };
            lines = lines.gateway(name);
        }
        for pair in self.log_headers {
            let Some((key, header)) = pair.split_once('=') else {
                return Err(usage(&format!(
                    "--log-header {pair:?}: expected KEY=HEADER (x_canary=x-canary)"
                )));
            };
            lines = lines.log_header(key.trim(), header.trim());
        }
        Ok(lines)
    }
}

/// Counts and reports the lines of a request stream that hold no request: the first ones on
/// stderr with their numbers, then a count.
#[derive(Default)]
struct BadLines {
    requests: u64,
    log_entries: u64,
}

impl BadLines {
    const SHOWN: u64 = 20;

    fn report(&mut self, file: &std::path::Path, line: &meshroute::sim::RequestLine, why: &str) {
        let shown = self.requests + self.log_entries;
        if line.format.is_access_log() {
            self.log_entries += 1;
        } else {
            self.requests += 1;
        }
        if shown < Self::SHOWN {
            let what = if line.format.is_access_log() {
                "access-log entry skipped"
            } else {
                "bad request line"
            };
            eprintln!(
                "meshroute: {}:{}: {what}: {why}",
                file.display(),
                line.number
            );
        }
    }

    /// The summary on stderr and the exit code: 1 when a request line was bad; access-log
    /// entries without a request are counted only.
    fn finish(&self, decided: u64) -> ExitCode {
        let total = self.requests + self.log_entries;
        if total > Self::SHOWN {
            eprintln!(
                "meshroute: … and {} more line(s) skipped",
                total - Self::SHOWN
            );
        }
        if total > 0 {
            eprintln!(
                "meshroute: {decided} request(s) decided; skipped {} bad request line(s) and {} access-log entry(ies) without an HTTP request",
                self.requests, self.log_entries
            );
        }
        if self.requests > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    }
}

/// What `simulate` prints per request: one decision, the distribution over N draws
/// (`--repeat`), or the spread of N sticky users (`--sticky-users`).
enum Spread {
    Once,
    Draws(u64),
    Users(u32),
}

/// `meshroute simulate`: one decision (or distribution) per request line, streamed.
fn simulate(
    input: &Input<'_>,
    requests: &RequestSource<'_>,
    seed: u64,
    spread: Spread,
    output: Output,
    options: &LoadOptions,
    mesh_config: Option<&std::path::Path>,
) -> ExitCode {
    use meshroute::sim::Simulation;
    use std::io::Write as _;

    if requests.path == std::path::Path::new("-") && input.reads_stdin() {
        return usage("stdin can hold the configuration or the requests, not both");
    }
    let lines = match requests.open() {
        Ok(lines) => lines,
        Err(code) => return code,
    };
    let loaded = match load(input, options, mesh_config) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let sim = match loaded.compile() {
        Ok(mesh) => Simulation::from_mesh(mesh),
        Err(error) => return refused(error.errors()),
    };
    if print_warnings(sim.mesh()).is_err() {
        return ExitCode::from(2);
    }
    if let Err(message) = output.of(
        false,
        "simulate",
        &[Output::Json, Output::Yaml, Output::Text],
    ) {
        return usage(&message);
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut bad = BadLines::default();
    // The request on the i-th good line (from 0) is decided with seed + i.
    let mut index = 0u64;
    for line in lines {
        let request = match &line.request {
            Ok(request) => request,
            Err(error) => {
                bad.report(requests.path, &line, &error.to_string());
                continue;
            }
        };
        let seed = seed.wrapping_add(index);
        let value = match spread {
            Spread::Draws(n) => sim.distribution(request, n, seed).map(|d| match output {
                Output::Yaml => format!("---\n{}", yaml(&d).trim_end()),
                Output::Text => distribution_text(line.number, &d),
                _ => json(&d),
            }),
            Spread::Users(n) => {
                match meshroute::sim::sticky_users(&sim, &sim, [request.clone()], n).pop() {
                    Some(users) => Ok(match output {
                        Output::Yaml => format!("---\n{}", yaml(&users).trim_end()),
                        Output::Text => format!(
                            "{}: {} sticky on {}, {} users: {}",
                            line.number,
                            users.route,
                            users.key,
                            users.users,
                            users
                                .after
                                .iter()
                                .map(|(d, n)| format!("{d} {n}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        _ => json(&users),
                    }),
                    None => {
                        bad.report(
                            requests.path,
                            &line,
                            "the route this request takes has no sticky key (meshroute.dev/sticky-key)",
                        );
                        continue;
                    }
                }
            }
            Spread::Once => sim.decide(request, seed).map(|d| match output {
                Output::Yaml => format!("---\n{}", yaml(&d).trim_end()),
                Output::Text => decision_text(line.number, &d),
                _ => json(&d),
            }),
        };
        match value {
            Ok(text) => {
                index += 1;
                if let Err(error) = writeln!(out, "{text}") {
                    return write_failed(&error);
                }
            }
            Err(error) => bad.report(requests.path, &line, &error.to_string()),
        }
    }
    if let Err(error) = out.flush() {
        return write_failed(&error);
    }
    bad.finish(index)
}

struct TestArgs {
    paths: Vec<PathBuf>,
    config: Vec<PathBuf>,
    namespace: Option<String>,
    gateway: Option<String>,
    output: Output,
    junit: Option<PathBuf>,
}

/// `meshroute test`: the report on standard output (text or JSON), JUnit XML to `--junit`.
fn test(
    args: &TestArgs,
    load_flags: &LoadFlags,
    mesh_config: Option<&std::path::Path>,
) -> ExitCode {
    use meshroute::sim::{SimError, TestFiles};

    let mut files = match TestFiles::discover(&args.paths) {
        Ok(files) => files,
        Err(error) => return usage(&error.to_string()),
    };
    if !args.config.is_empty() {
        files = files.config(&args.config);
    }
    if let Some(namespace) = &args.namespace {
        files = files.namespace(namespace.clone());
    }
    if let Some(gateway) = &args.gateway {
        files = files.gateway(gateway);
    }
    let namespace = args.namespace.as_deref().unwrap_or("default");
    let loaded = match load(
        &Input::Files(files.config_paths()),
        &options(namespace, load_flags),
        mesh_config,
    ) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let report = match files.run_on(loaded) {
        Ok(report) => report,
        Err(SimError::Invalid(errors)) => {
            if print_diagnostics(&mut output::stderr(), &errors).is_err() {
                return ExitCode::from(2);
            }
            return usage("the configuration has errors (above): nothing was tested");
        }
        Err(error) => return usage(&error.to_string()),
    };
    if let Some(path) = &args.junit {
        if let Err(error) = std::fs::write(path, report.to_junit()) {
            return usage(&format!("cannot write {}: {error}", path.display()));
        }
    }
    let text = match args.output {
        Output::Json => report.to_json(),
        Output::Yaml => {
            yaml(&serde_json::from_str::<serde_json::Value>(&report.to_json()).unwrap_or_default())
        }
        _ => report.to_string(),
    };
    if let Err(code) = output::print(text.trim_end()) {
        return code;
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

//! Manifests for tests: VirtualServices, Gateways and DestinationRules as YAML text.

/// Removes the common indentation of `text`, then indents every line by `by` spaces.
pub fn reindent(text: &str, by: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let common = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let pad = " ".repeat(by);
    lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("{pad}{}\n", &l[common..]))
        .collect()
}

/// A VirtualService `namespace/name` with the given `spec` body.
pub fn named_vs(namespace: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{}",
        reindent(spec, 2)
    )
}

/// A VirtualService `default/r` with the given `spec` body.
pub fn vs(spec: &str) -> String {
    named_vs("default", "r", spec)
}

/// A VirtualService `default/r` for host `svc-b` (bound to the mesh) with these `http` routes.
pub fn http(routes: &str) -> String {
    vs(&format!("hosts: [svc-b]\nhttp:\n{}", reindent(routes, 0)))
}

/// A Gateway `namespace/name` with one HTTP server for `hosts` (a YAML flow list).
pub fn gateway(namespace: &str, name: &str, hosts: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  selector: {{istio: ingressgateway}}\n  servers:\n  - port: {{number: 80, name: http, protocol: HTTP}}\n    hosts: {hosts}\n"
    )
}

/// A DestinationRule `namespace/name` for `host` defining the subsets `v1` and `v2`.
pub fn destination_rule(namespace: &str, name: &str, host: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  host: {host}\n  subsets:\n  - {{name: v1, labels: {{version: v1}}}}\n  - {{name: v2, labels: {{version: v2}}}}\n"
    )
}

/// A Kubernetes Service `namespace/name` with these ports (each named `http-<port>`).
pub fn service(namespace: &str, name: &str, ports: &[u16]) -> String {
    let ports: Vec<String> = ports
        .iter()
        .map(|p| format!("{{port: {p}, name: http-{p}}}"))
        .collect();
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  ports: [{}]\n",
        ports.join(", ")
    )
}

/// The Kubernetes Services `default/svc-b`, `default/svc-c` and `default/svc-d`, port 8080 each:
/// the destinations of the manifests above. Without them `istioctl analyze` reports every
/// destination host (IST0101 "Referenced host not found").
pub fn services() -> String {
    docs(&[
        &service("default", "svc-b", &[8080]),
        &service("default", "svc-c", &[8080]),
        &service("default", "svc-d", &[8080]),
        DB_ENTRY,
    ])
}

/// The ServiceEntry `default/db` for `db.example.com` (port 5432), the destination of the TCP and
/// TLS rules of the tests.
const DB_ENTRY: &str = "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: db, namespace: default}\nspec:\n  hosts: [db.example.com]\n  ports: [{number: 5432, name: tcp, protocol: TCP}]\n  resolution: DNS\n";

/// Several documents as one stream.
pub fn docs(parts: &[&str]) -> String {
    parts.join("---\n")
}

/// The usual destination of a route.
pub const ROUTE: &str = "route: [{destination: {host: svc-b}}]";

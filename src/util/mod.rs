//! Small shared pieces every stage uses: host names, gateway references and server hosts, port
//! protocols, raw query strings, random sources, duration text, and the size limit, budget and
//! Envoy replacement syntax of user regexes. Nothing here knows Istio's resources or meshroute's
//! decisions.

pub(crate) mod bytes;
pub(crate) mod duration;
pub(crate) mod gateways;
pub(crate) mod host;
pub(crate) mod host_table;
pub(crate) mod protocol;
pub(crate) mod query;
pub(crate) mod regex;
pub(crate) mod rng;
pub(crate) mod status;

//! Small shared pieces every stage uses: host names, port protocol names, raw query strings,
//! random sources and duration text. Nothing here knows Istio's resources or meshroute's decisions.

pub(crate) mod duration;
pub(crate) mod host;
pub(crate) mod protocol;
pub(crate) mod query;
pub(crate) mod rng;
pub(crate) mod status;

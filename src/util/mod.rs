//! Small shared pieces every stage uses: host names, port protocols, raw query strings, random
//! sources, duration text, and the size limit and budget of user regexes. Nothing here knows
//! Istio's resources or meshroute's decisions.

pub(crate) mod duration;
pub(crate) mod host;
pub(crate) mod protocol;
pub(crate) mod query;
pub(crate) mod regex;
pub(crate) mod rng;
pub(crate) mod status;

//! HTTP status codes as Go names them: Istio decides with Go's `net/http` which retry
//! conditions are status codes.

/// Whether Go's `http.StatusText(code)` is non-empty: the codes Go's `net/http` names.
pub(crate) fn go_status_text_known(code: u32) -> bool {
    matches!(code,
        100..=103 | 200..=208 | 226 | 300..=305 | 307 | 308 | 400..=418 | 421..=426 | 428 | 429
        | 431 | 451 | 500..=508 | 510 | 511)
}

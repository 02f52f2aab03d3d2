//! HTTP status codes as Go names them (Istio decides with Go's `net/http` which retry
//! conditions are status codes), and gRPC status names as Istio reads them.

/// Whether Go's `http.StatusText(code)` is non-empty: the codes Go's `net/http` names.
pub(crate) fn go_status_text_known(code: u32) -> bool {
    matches!(code,
        100..=103 | 200..=208 | 226 | 300..=305 | 307 | 308 | 400..=418 | 421..=426 | 428 | 429
        | 431 | 451 | 500..=508 | 510 | 511)
}

/// gRPC status names Istio accepts for `abort.grpcStatus`, in code order (Istio's
/// `SupportedGRPCStatus`, `pkg/util/grpc/codes.go`): a name's index is its code.
const GRPC_STATUS: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// The code of a gRPC status name; `None` for a name Istio does not know.
pub(crate) fn grpc_code(name: &str) -> Option<u8> {
    GRPC_STATUS
        .iter()
        .position(|n| *n == name)
        .and_then(|i| u8::try_from(i).ok())
}

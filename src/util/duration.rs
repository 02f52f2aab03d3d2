//! Durations as Istio and protobuf JSON print them.

use std::fmt;

/// Writes `nanos` nanoseconds in the shortest exact form in seconds (`1.5s`, `0.1s`, `-2s`),
/// as Istio and protobuf JSON print durations.
pub(crate) fn write_seconds(f: &mut impl fmt::Write, nanos: i128) -> fmt::Result {
    let sign = if nanos < 0 { "-" } else { "" };
    let abs = nanos.unsigned_abs();
    let secs = abs / 1_000_000_000;
    let mut frac = abs % 1_000_000_000;
    if frac == 0 {
        return write!(f, "{sign}{secs}s");
    }
    let mut digits = 9;
    while frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    write!(f, "{sign}{secs}.{frac:0digits$}s")
}

/// A `std::time::Duration` as seconds text (`1.5s`).
pub(crate) fn seconds(duration: std::time::Duration) -> String {
    let mut text = String::new();
    let nanos = i128::try_from(duration.as_nanos()).unwrap_or(i128::MAX);
    // Writing to a `String` cannot fail.
    let _ = write_seconds(&mut text, nanos);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_exact_seconds() {
        let text = |nanos| {
            let mut s = String::new();
            write_seconds(&mut s, nanos).unwrap_or_default();
            s
        };
        assert_eq!(text(1_500_000_000), "1.5s");
        assert_eq!(text(100_000_000), "0.1s");
        assert_eq!(text(2_000_000_000), "2s");
        assert_eq!(text(-1_000_000), "-0.001s");
        assert_eq!(text(1), "0.000000001s");
        assert_eq!(seconds(std::time::Duration::from_millis(250)), "0.25s");
    }
}

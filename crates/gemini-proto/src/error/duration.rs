//! `google.protobuf.Duration` in its JSON forms.

use std::time::Duration;

use serde_json::Value;

/// The largest number of seconds a `google.protobuf.Duration` may hold (10 000 years).
const MAX_PROTO_DURATION_SECS: u64 = 315_576_000_000;

/// Parses a `google.protobuf.Duration` in its JSON string form: decimal seconds with up to nine
/// fractional digits and an `s` suffix (`"34.4s"`, `"26s"`, `"0.5s"`). Negative, malformed or
/// out-of-range (more than 315 576 000 000 s) values give `None`.
///
/// ```
/// use gemini_proto::error::parse_proto_duration;
/// use std::time::Duration;
///
/// assert_eq!(parse_proto_duration("34.4s"), Some(Duration::from_millis(34_400)));
/// assert_eq!(parse_proto_duration("26s"), Some(Duration::from_secs(26)));
/// assert_eq!(parse_proto_duration("-1s"), None);
/// ```
pub fn parse_proto_duration(s: &str) -> Option<Duration> {
    let digits = s.trim().strip_suffix('s')?;
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 9 {
        return None;
    }
    let secs: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    if secs > MAX_PROTO_DURATION_SECS {
        return None;
    }
    let mut nanos: u32 = 0;
    for b in frac.bytes().chain(std::iter::repeat(b'0')).take(9) {
        nanos = nanos * 10 + u32::from(b - b'0');
    }
    Some(Duration::new(secs, nanos))
}

/// A JSON duration: the string form, or an object `{"seconds": …, "nanos": …}`.
pub(super) fn parse_json_duration(v: &Value) -> Option<Duration> {
    match v {
        Value::String(s) => parse_proto_duration(s),
        Value::Object(obj) => {
            let secs = match obj.get("seconds") {
                None => 0,
                Some(Value::Number(n)) => n.as_u64()?,
                Some(Value::String(s)) => s.parse().ok()?,
                Some(_) => return None,
            };
            let nanos = match obj.get("nanos") {
                None => 0,
                Some(n) => n.as_u64().and_then(|n| u32::try_from(n).ok())?,
            };
            if secs > MAX_PROTO_DURATION_SECS || nanos >= 1_000_000_000 {
                return None;
            }
            Some(Duration::new(secs, nanos))
        }
        _ => None,
    }
}

/// Formats a duration as a `google.protobuf.Duration` JSON string the way Google's servers write it:
/// the shortest exact decimal (`"34.4s"`, `"26s"`, `"0.000000005s"`).
pub(super) fn format_proto_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let nanos = d.subsec_nanos();
    if nanos == 0 {
        return format!("{secs}s");
    }
    let fraction = format!("{nanos:09}");
    format!("{secs}.{}s", fraction.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_formatting() {
        assert_eq!(
            format_proto_duration(Duration::from_millis(34_400)),
            "34.4s"
        );
        assert_eq!(format_proto_duration(Duration::from_secs(26)), "26s");
        assert_eq!(format_proto_duration(Duration::new(1, 1_000)), "1.000001s");
        assert_eq!(format_proto_duration(Duration::new(0, 5)), "0.000000005s");
    }
}

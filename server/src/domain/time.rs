//! Timestamps: Unix seconds inside, `YYYY-MM-DDTHH:MM:SSZ` on the wire.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

const WIRE: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
const SPACED: &[FormatItem<'static>] = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// The current time in whole Unix seconds.
pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub fn format(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(WIRE).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DD HH:MM:SS` (both UTC) into Unix seconds.
pub fn parse(text: &str) -> Option<i64> {
    PrimitiveDateTime::parse(text, WIRE)
        .or_else(|_| PrimitiveDateTime::parse(text, SPACED))
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_both_forms() {
        assert_eq!(format(0), "1970-01-01T00:00:00Z");
        assert_eq!(format(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(parse("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(parse("2023-11-14 22:13:20"), Some(1_700_000_000));
        assert_eq!(parse("2023-11-14"), None);
        assert_eq!(parse("2023-13-14T22:13:20Z"), None);
    }
}

//! The `X-Sdk-Date` header: strict `YYYYMMDDTHHMMSSZ` UTC parsing and formatting.

use std::time::SystemTime;

use time::{Date, Month, OffsetDateTime, Time};

use crate::SignatureError;

/// Parses `YYYYMMDDTHHMMSSZ` (exactly 16 characters, a real UTC date and time, seconds
/// 00-59), the SDK's `%Y%m%dT%H%M%SZ`.
pub(crate) fn parse(text: &str) -> Result<OffsetDateTime, SignatureError> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 16
        && bytes[8] == b'T'
        && bytes[15] == b'Z'
        && bytes[..8].iter().chain(&bytes[9..15]).all(u8::is_ascii_digit);
    if !shaped {
        return Err(SignatureError::MalformedDate);
    }
    // All-digit ASCII slices of at most 4 digits, so every number fits.
    let number = |range: std::ops::Range<usize>| {
        bytes[range].iter().fold(0_u16, |n, digit| n * 10 + u16::from(digit - b'0'))
    };
    let narrow = |range| u8::try_from(number(range)).map_err(|_| SignatureError::MalformedDate);
    let month = Month::try_from(narrow(4..6)?).map_err(|_| SignatureError::MalformedDate)?;
    let date = Date::from_calendar_date(i32::from(number(0..4)), month, narrow(6..8)?)
        .map_err(|_| SignatureError::MalformedDate)?;
    let time = Time::from_hms(narrow(9..11)?, narrow(11..13)?, narrow(13..15)?)
        .map_err(|_| SignatureError::MalformedDate)?;
    Ok(date.with_time(time).assume_utc())
}

/// Formats `now` as `YYYYMMDDTHHMMSSZ` in UTC.
pub(crate) fn format(now: SystemTime) -> String {
    let now = OffsetDateTime::from(now);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn formats_and_parses_utc() {
        let moment = UNIX_EPOCH + Duration::from_secs(1_795_359_545);
        assert_eq!(format(moment), "20261122T145905Z");
        assert_eq!(parse("20261122T145905Z").map(OffsetDateTime::unix_timestamp), Ok(1_795_359_545));
        assert_eq!(format(UNIX_EPOCH), "19700101T000000Z");
    }

    #[test]
    fn rejects_anything_but_the_exact_form() {
        for text in [
            "",
            "20261122T145905",
            "20261122T145905z",
            "20261122 145905Z",
            "2026-11-22T14:59:05Z",
            "+2026112T145905Z",
            "20261122T1459 5Z",
            "20261322T145905Z",
            "20260230T145905Z",
            "20261122T245905Z",
            "20261122T146005Z",
            "20261122T145960Z",
            "20261122T145905Z ",
            "２0261122T145905Z",
        ] {
            assert_eq!(parse(text), Err(SignatureError::MalformedDate), "{text:?}");
        }
    }
}

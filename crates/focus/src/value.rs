//! Parsing one FOCUS cell: nulls, datetimes, decimals and JSON, as real providers write them.
//!
//! The datetime parser is written by hand because no crate accepts exactly the shapes providers write (ISO 8601
//! with `T` or a space, with `Z`, `+00:00` or no zone, with or without fractions) while refusing everything else
//! (`5/1/25`), and because it runs four times per row on the ingest hot path.

use arrow::datatypes::Decimal128Type;

use crate::schema::DECIMAL_PRECISION;

/// Whether a raw cell means "no value": an empty field, or `NULL`/`null` as a bare word.
pub fn is_null(raw: &str) -> bool {
    raw.is_empty() || raw == "NULL" || raw == "null"
}

/// Parse a FOCUS datetime into UTC microseconds since the epoch.
///
/// Accepted: `YYYY-MM-DDTHH:MM:SS` or with a space for `T`, optional `.fraction` (up to 9 digits), then `Z`,
/// `+HH:MM`/`-HH:MM` or nothing (read as UTC, as the FOCUS sample data and Azure's `startDate` mean it).
pub fn parse_datetime(raw: &str) -> Result<i64, String> {
    let b = raw.as_bytes();
    let bad = || format!("not an ISO 8601 datetime (expected YYYY-MM-DDTHH:MM:SSZ)");
    if b.len() < 19 {
        // A bare date is a whole day in UTC.
        if b.len() == 10 {
            let date = parse_date(b).ok_or_else(bad)?;
            return Ok(date.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc().timestamp_micros());
        }
        return Err(bad());
    }
    let date = parse_date(&b[..10]).ok_or_else(bad)?;
    if b[10] != b'T' && b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let (h, m, s) = (digits(&b[11..13]).ok_or_else(bad)?, digits(&b[14..16]).ok_or_else(bad)?, digits(&b[17..19]).ok_or_else(bad)?);
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &b[start..i];
        if frac.is_empty() || frac.len() > 9 {
            return Err(bad());
        }
        for k in 0..6 {
            micros = micros * 10 + frac.get(k).map_or(0, |d| i64::from(d - b'0'));
        }
    }
    let offset_secs = match &b[i..] {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), hh @ .., ] if hh.len() == 5 && hh[2] == b':' => {
            let secs = digits(&hh[..2]).ok_or_else(bad)? as i64 * 3600 + digits(&hh[3..]).ok_or_else(bad)? as i64 * 60;
            if *sign == b'+' { secs } else { -secs }
        }
        _ => return Err(bad()),
    };
    let time = date.and_hms_opt(h, m, s).ok_or_else(|| format!("no such time of day"))?;
    Ok((time.and_utc().timestamp() - offset_secs) * 1_000_000 + micros)
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, d| d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0')))
}

fn parse_date(b: &[u8]) -> Option<chrono::NaiveDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    chrono::NaiveDate::from_ymd_opt(digits(&b[..4])? as i32, digits(&b[5..7])?, digits(&b[8..10])?)
}

/// Parse a decimal (plain or with an exponent) into the integer of a lake `Decimal128(38, scale)`.
///
/// Digits past the scale's last decimal place are cut, which is far below any provider's billing precision.
pub fn parse_decimal(raw: &str, scale: i8) -> Result<i128, String> {
    let raw = raw.trim();
    plain_decimal(raw.as_bytes(), scale)
        .map_or_else(|| arrow::compute::kernels::cast_utils::parse_decimal::<Decimal128Type>(raw, DECIMAL_PRECISION, scale), Ok)
        .map_err(|_| "not a decimal number".to_string())
}

/// The common shape, `[+-]digits[.digits]` with at most 19 integer and `scale` fraction digits, parsed in `u64`s;
/// `None` for anything else, which arrow's parser then reads (exponents, long fractions) or refuses. Both give the
/// same value wherever this one answers.
fn plain_decimal(b: &[u8], scale: i8) -> Option<i128> {
    let (negative, b) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let point = b.iter().position(|c| *c == b'.').unwrap_or(b.len());
    let (int, frac) = (&b[..point], b.get(point + 1..).unwrap_or_default());
    if int.is_empty() || int.len() > 19 || frac.len() > scale as usize {
        return None;
    }
    let mut whole = 0u64;
    for d in int {
        whole = whole * 10 + u64::from(digit(*d)?);
    }
    let mut part = 0u64;
    for d in frac {
        part = part * 10 + u64::from(digit(*d)?);
    }
    let v = i128::from(whole) * 10i128.pow(scale as u32) + i128::from(part) * 10i128.pow(scale as u32 - frac.len() as u32);
    Some(if negative { -v } else { v })
}

fn digit(d: u8) -> Option<u8> {
    d.is_ascii_digit().then(|| d - b'0')
}

/// Check that a cell is a JSON object, as FOCUS requires of `Tags` and `SkuPriceDetails`.
pub fn check_json_object(raw: &str) -> Result<(), String> {
    // Checked without building the value: the cell is kept as text, and most rows carry one.
    match serde_json::from_str::<serde::de::IgnoredAny>(raw) {
        Ok(_) if raw.trim_start().starts_with('{') => Ok(()),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(format!("not valid JSON ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{DECIMAL_SCALE, QUANTITY_SCALE};

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
    }

    #[test]
    fn datetimes_in_every_real_shape() {
        let t = at("2024-10-01T00:00:00Z");
        for raw in ["2024-10-01T00:00:00Z", "2024-10-01 00:00:00", "2024-10-01T00:00:00", "2024-10-01T00:00:00+00:00",
            "2024-10-01T00:00:00.000Z", "2024-10-01T02:00:00+02:00", "2024-10-01"] {
            assert_eq!(parse_datetime(raw), Ok(t), "{raw}");
        }
        assert_eq!(parse_datetime("2024-10-01T00:00:00.5Z").unwrap() - t, 500_000);
    }

    #[test]
    fn datetimes_that_would_be_guesses_are_refused() {
        for raw in ["5/1/25", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z", "2024-10-01T25:00:00Z", "2024-10-01T00:00:00Q",
            "yesterday", "2024-10-01T00:00", ""] {
            assert!(parse_datetime(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn decimals_keep_more_places_than_f64() {
        let v = parse_decimal("0.12345678901234567", DECIMAL_SCALE).unwrap();
        assert_eq!(v, 123_456_789_012_345_670);
        assert_eq!(parse_decimal("2.000000000000000", DECIMAL_SCALE).unwrap(), 2 * 10i128.pow(18));
        assert_eq!(parse_decimal("1.5E-3", DECIMAL_SCALE).unwrap(), 15 * 10i128.pow(14));
        assert!(parse_decimal("12 USD", DECIMAL_SCALE).is_err());
        assert!(parse_decimal("", DECIMAL_SCALE).is_err());
    }

    #[test]
    fn the_fast_decimal_path_agrees_with_arrow() {
        for scale in [DECIMAL_SCALE, QUANTITY_SCALE] {
            let arrow = |s: &str| arrow::compute::kernels::cast_utils::parse_decimal::<Decimal128Type>(s, DECIMAL_PRECISION, scale).ok();
            for raw in ["0", "-0", "+7", "5.", "0.000000000000000001", "-12.5", "1234567890123456789.123456789012345678", "007.50",
                "9999999999999999999", "0.1234567890123456789", "1e3", ".5", "-", "+", ".", "1.2.3", "1,5", "١٢"] {
                if let Some(v) = plain_decimal(raw.as_bytes(), scale) {
                    assert_eq!(Some(v), arrow(raw), "{raw}");
                }
                assert_eq!(parse_decimal(raw, scale).ok(), arrow(raw), "{raw}");
            }
        }
    }

    /// A Google bucket holding 2.5 PB for a day, in byte-seconds (2.16e20), overflowed the 20 integer digits of
    /// scale 18; quantities keep 23.
    #[test]
    fn a_petabyte_day_in_byte_seconds_fits_a_quantity() {
        let byte_seconds = "216000000000000000000.000000000000001";
        assert!(parse_decimal(byte_seconds, DECIMAL_SCALE).is_err());
        assert_eq!(parse_decimal(byte_seconds, QUANTITY_SCALE), Ok(216 * 10i128.pow(18 + 15) + 1));
        assert!(parse_decimal("100000000000000000000000", QUANTITY_SCALE).is_err());
    }

    #[test]
    fn json_cells_must_be_objects() {
        assert!(check_json_object(r#"{"team": "t1", "n": [1, {"a": null}]}"#).is_ok());
        assert!(check_json_object(" {}").is_ok());
        assert_eq!(check_json_object("[1]"), Err("not a JSON object".into()));
        assert_eq!(check_json_object("\"x\""), Err("not a JSON object".into()));
        assert!(check_json_object("{\"a\": }").unwrap_err().starts_with("not valid JSON"));
        assert!(check_json_object("{} x").is_err());
    }

    #[test]
    fn nulls() {
        assert!(is_null("") && is_null("NULL") && is_null("null"));
        assert!(!is_null("Null value"));
    }

    proptest::proptest! {
        #[test]
        fn datetime_parser_never_panics(s in "\\PC{0,40}") {
            let _ = parse_datetime(&s);
        }

        #[test]
        fn rfc3339_round_trips(secs in 0i64..4_000_000_000) {
            let t = chrono::DateTime::from_timestamp(secs, 0).unwrap();
            let s = t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
            proptest::prop_assert_eq!(parse_datetime(&s).unwrap(), secs * 1_000_000);
        }
    }
}

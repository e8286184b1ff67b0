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

/// One datetime form a provider writes, with where it was seen. [`parse_datetime`] accepts exactly the forms listed
/// here (and their fraction and zone variants): `tests::every_listed_form_parses` reads each example.
#[derive(Debug, Clone, Copy)]
pub struct DateTimeForm {
    /// An example as the provider writes it; every example means 2024-10-01 00:00 UTC, to the second.
    pub example: &'static str,
    /// Who writes it.
    pub writer: &'static str,
    /// Where it was seen.
    pub source: &'static str,
}

/// Every datetime form accepted, with its source. `corpus/sources/<provider>.md` quotes each source; a form marked
/// "defensive" was not seen in a provider's files but costs nothing to read and cannot be misread.
pub const DATETIME_FORMS: &[DateTimeForm] = &[
    DateTimeForm {
        example: "2024-10-01T00:00:00Z",
        writer: "FOCUS (ISO 8601 in UTC); Azure FocusCost 1.0r2 and 1.2; AWS CUR",
        source: "MS Learn cost-usage-details-focus.md; finops-toolkit issue #973; FOCUS_Spec PR #123",
    },
    DateTimeForm {
        example: "2024-10-01T00:00Z",
        writer: "Azure FocusCost 1.0-preview(v1) and 1.0 (no seconds); OCI FOCUS reports' charge periods",
        source: "MS Learn cost-usage-details-focus.md; OCI Log Analytics parser (oci-o11y-solutions@949b395) real row",
    },
    DateTimeForm {
        example: "2024-10-01T00:00:00.000Z",
        writer: "OCI FOCUS reports' billing periods (milliseconds); AWS FOCUS CSV (claimed)",
        source: "OCI Log Analytics parser real row; costcrew test (unconfirmed)",
    },
    DateTimeForm {
        example: "2024-10-01T00:00",
        writer: "Azure, as the finops-toolkit announcement writes 1.0 values (no zone)",
        source: "finops-toolkit announce/2025/2025-08_non-breaking-changes-in-hubs-12.md line 29",
    },
    DateTimeForm {
        example: "2024-10-01T00:00:00",
        writer: "Azure manifest runInfo.startDate; 1.0r2 values in the same announcement (no zone)",
        source: "finops-toolkit issue #527; the announcement above",
    },
    DateTimeForm {
        example: "2024-10-01T00:00:00.0000000Z",
        writer: "Azure run times (.NET round-trip, 7 fraction digits)",
        source: "finops-toolkit issue #527, runInfo.submittedTime",
    },
    DateTimeForm {
        example: "2024-10-01 00:00:00",
        writer: "FinOps Foundation FOCUS sample data (space, no zone)",
        source: "FOCUS-Sample-Data FOCUS-1.0/focus_sample.csv",
    },
    DateTimeForm {
        example: "2024-10-01 00:00:00 UTC",
        writer: "Google BigQuery CSV and JSON extracts of a TIMESTAMP",
        source: "bxparks/bigquery-schema-generator issue #19 ('bq extract outputs TIMESTAMP fields using the UTC suffix')",
    },
    DateTimeForm {
        example: "2024-10-01 00:00:00.1 UTC",
        writer: "Google BigQuery extracts, fractions of 1 to 6 digits, trailing zeros trimmed",
        source: "shun0102/embulk-parser-jsonl issue #7",
    },
    DateTimeForm {
        example: "2024-10-01 00:00:00+00:00",
        writer: "pandas-written Google billing extracts (offset with colon)",
        source: "project-koku/koku masu/test/data/gcp CSV",
    },
    DateTimeForm {
        example: "2024-10-01 00:00:00+00",
        writer: "PostgreSQL's text form of timestamptz (defensive)",
        source: "PostgreSQL docs, Date/Time Output, ISO style",
    },
    DateTimeForm { example: "2024-10-01T00:00:00+0000", writer: "ISO 8601 basic-format offset (defensive)", source: "ISO 8601-1:2019 §4.3.13" },
    DateTimeForm {
        example: "2024-10-01",
        writer: "a date alone (BigQuery DATE, a Parquet DATE): its midnight in UTC",
        source: "Google BigQuery exporting-data table of types",
    },
];

/// Parse a FOCUS datetime into UTC microseconds since the epoch.
///
/// The grammar of [`DATETIME_FORMS`]: `YYYY-MM-DD`, then `T` or a space, then `HH:MM` with optional `:SS` and an
/// optional `.fraction` (1 to 9 digits), then a zone: none (read as UTC, as FOCUS requires every datetime to be),
/// `Z`, ` UTC`, or an offset `+HH:MM`, `+HHMM` or `+HH`. A date alone is its midnight UTC. Anything else, such as
/// `5/1/25` (which of May 1 and January 5?), is refused rather than guessed.
pub fn parse_datetime(raw: &str) -> Result<i64, String> {
    let b = raw.as_bytes();
    let bad = || "not an ISO 8601 datetime (expected YYYY-MM-DDTHH:MM:SSZ)".to_string();
    let date = parse_date(b.get(..10).ok_or_else(bad)?).ok_or_else(bad)?;
    if b.len() == 10 {
        return Ok(date.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc().timestamp_micros());
    }
    if b.len() < 16 || (b[10] != b'T' && b[10] != b' ') || b[13] != b':' {
        return Err(bad());
    }
    let (h, m) = (digits(&b[11..13]).ok_or_else(bad)?, digits(&b[14..16]).ok_or_else(bad)?);
    let mut i = 16;
    let mut s = 0;
    if b.get(i) == Some(&b':') {
        s = digits(b.get(17..19).ok_or_else(bad)?).ok_or_else(bad)?;
        i = 19;
    }
    let mut micros = 0i64;
    if i == 19 && b.get(i) == Some(&b'.') {
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
        [] | [b'Z'] | b" UTC" => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (hh, mm) = match rest {
                [h1, h2] => ([*h1, *h2], *b"00"),
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => ([*h1, *h2], [*m1, *m2]),
                _ => return Err(bad()),
            };
            let (hh, mm) = (digits(&hh).ok_or_else(bad)?, digits(&mm).ok_or_else(bad)?);
            if hh > 23 || mm > 59 {
                return Err(bad());
            }
            let secs = i64::from(hh) * 3600 + i64::from(mm) * 60;
            if *sign == b'+' { secs } else { -secs }
        }
        _ => return Err(bad()),
    };
    let time = date.and_hms_opt(h, m, s).ok_or_else(|| "no such time of day".to_string())?;
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

/// Check that a cell is a JSON object, as FOCUS requires of `Tags` and `SkuPriceDetails`. A list of key-value
/// objects (Google's `Tags` as BigQuery's `TO_JSON_STRING` writes its `ARRAY<STRUCT<key, value>>`) is the object it
/// means: `Ok(Some(object))`. `Ok(None)` keeps the cell as it is.
pub fn check_json_object(raw: &str) -> Result<Option<String>, String> {
    // Checked without building the value: the cell is kept as text, and most rows carry one.
    match serde_json::from_str::<serde::de::IgnoredAny>(raw) {
        Ok(_) if raw.trim_start().starts_with('{') => Ok(None),
        Ok(_) if raw.trim_start().starts_with('[') => {
            let list = serde_json::from_str(raw).map_err(|e| format!("not valid JSON ({e})"))?;
            let object = key_value_object(list).map_err(|reason| format!("not a JSON object ({reason})"))?;
            Ok(Some(serde_json_canonicalizer::to_string(&object).map_err(|e| e.to_string())?))
        }
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(format!("not valid JSON ({e})")),
    }
}

/// A list of key-value objects as the object of those pairs; anything else as it is. The names are matched without
/// case: Google's FOCUS view writes `key` and `value`, its FOCUS export `Key` and `Value`, each beside fields of its
/// own (`x_inherited`, `x_namespace`), which the object form of a tag does not carry.
pub(crate) fn key_value_object(v: serde_json::Value) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    let Value::Array(items) = v else { return Ok(v) };
    let not_pairs = || "a list that is not of key-value pairs".to_string();
    let mut object = serde_json::Map::new();
    for item in items {
        let Value::Object(pair) = item else {
            return Err(not_pairs());
        };
        let field = |name: &str| pair.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
        let (Some(Value::String(key)), Some(value)) = (field("key"), field("value")) else {
            return Err(not_pairs());
        };
        if let Some(before) = object.insert(key.clone(), value.clone())
            && &before != value
        {
            return Err(format!("the list holds key {key:?} twice, with different values"));
        }
    }
    Ok(Value::Object(object))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{DECIMAL_SCALE, QUANTITY_SCALE};

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
    }

    #[test]
    fn every_listed_form_parses() {
        let t = at("2024-10-01T00:00:00Z");
        for f in DATETIME_FORMS {
            assert_eq!(parse_datetime(f.example).map(|m| m - m % 1_000_000), Ok(t), "{} ({})", f.example, f.writer);
        }
    }

    #[test]
    fn datetimes_in_every_real_shape() {
        let t = at("2024-10-01T00:00:00Z");
        for raw in ["2024-10-01T02:00:00+02:00", "2024-10-01T02:00+0200", "2024-09-30T19:00:00-05", "2024-10-01 02:00:00.000+02:00"] {
            assert_eq!(parse_datetime(raw), Ok(t), "{raw}");
        }
        assert_eq!(parse_datetime("2024-10-01T00:00:00.5Z").unwrap() - t, 500_000);
        assert_eq!(parse_datetime("2024-10-01 00:00:00.123456 UTC").unwrap() - t, 123_456);
        assert_eq!(parse_datetime("2024-10-01T00:00:00.123456789Z").unwrap() - t, 123_456);
        assert_eq!(parse_datetime("2024-10-01T13:45Z").unwrap() - t, (13 * 3600 + 45 * 60) * 1_000_000);
    }

    #[test]
    fn datetimes_that_would_be_guesses_are_refused() {
        for raw in [
            "5/1/25",
            "01/05/2024",
            "2024-13-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2024-10-01T25:00:00Z",
            "2024-10-01T00:00:00Q",
            "yesterday",
            "2024-10-01T00",
            "",
            "2024-10-01T00:00.5Z",
            "2024-10-01T00:00:00 CET",
            "2024-10-01T00:00:00+2",
            "2024-10-01T00:00:00+25:00",
            "2024-10-01T00:00:00.Z",
            "2024-10-01T00:00:00.1234567890Z",
            "2024-10-01T00:00:00utc",
            "20241001T000000Z",
            "2024-10-01T00:00:60Z",
        ] {
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
            for raw in [
                "0",
                "-0",
                "+7",
                "5.",
                "0.000000000000000001",
                "-12.5",
                "1234567890123456789.123456789012345678",
                "007.50",
                "9999999999999999999",
                "0.1234567890123456789",
                "1e3",
                ".5",
                "-",
                "+",
                ".",
                "1.2.3",
                "1,5",
                "١٢",
            ] {
                if let Some(v) = plain_decimal(raw.as_bytes(), scale) {
                    assert_eq!(Some(v), arrow(raw), "{raw}");
                }
                assert_eq!(parse_decimal(raw, scale).ok(), arrow(raw), "{raw}");
            }
        }
    }

    /// A Google bucket holding 2.5 PB for a day, in byte-seconds (2.16e20), overflowed the 20 integer digits of
    /// scale 18; 8,000 TB kept for a year on one row (2.5e23) overflowed scale 15's 23. Quantities keep 29.
    #[test]
    fn the_public_records_largest_quantities_fit() {
        let byte_seconds = "216000000000000000000.000000001";
        assert!(parse_decimal(byte_seconds, DECIMAL_SCALE).is_err());
        assert_eq!(parse_decimal(byte_seconds, QUANTITY_SCALE), Ok(216 * 10i128.pow(18 + 9) + 1));
        let year = format!("{}", 8_000u128 * 10u128.pow(12) * 365 * 86_400);
        assert_eq!(parse_decimal(&year, QUANTITY_SCALE), Ok(8_000 * 10i128.pow(12) * 365 * 86_400 * 10i128.pow(9)));
        assert_eq!(parse_decimal("2.52288E+23", QUANTITY_SCALE), Ok(252_288 * 10i128.pow(18 + 9)));
        assert!(parse_decimal("100000000000000000000000000000", QUANTITY_SCALE).is_err());
    }

    #[test]
    fn json_cells_must_be_objects() {
        assert_eq!(check_json_object(r#"{"team": "t1", "n": [1, {"a": null}]}"#), Ok(None));
        assert_eq!(check_json_object(" {}"), Ok(None));
        assert_eq!(check_json_object("[1]"), Err("not a JSON object (a list that is not of key-value pairs)".into()));
        assert_eq!(check_json_object("\"x\""), Err("not a JSON object".into()));
        assert!(check_json_object("{\"a\": }").unwrap_err().starts_with("not valid JSON"));
        assert!(check_json_object("{} x").is_err());
    }

    /// BigQuery's `TO_JSON_STRING(Tags)` of Google's FOCUS view.
    #[test]
    fn key_value_lists_are_the_object_they_mean() {
        let raw = r#"[{"key":"env","value":"prod","x_type":"label","x_inherited":false,"x_namespace":null},{"key":"app","value":"calls"}]"#;
        assert_eq!(check_json_object(raw), Ok(Some(r#"{"app":"calls","env":"prod"}"#.into())));
        assert_eq!(check_json_object("[]"), Ok(Some("{}".into())));
        assert!(check_json_object(r#"[{"key":"a","value":"1"},{"key":"a","value":"2"}]"#).unwrap_err().contains("twice"));
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

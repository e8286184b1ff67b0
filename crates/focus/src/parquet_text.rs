//! A Parquet batch as the text the row builder parses, whatever types its writer chose.
//!
//! Providers write the same FOCUS column with different types: AWS writes `Tags` as `map<string,string>` and
//! `x_Discounts` as `map<string,double>`, Google's BigQuery extracts write timestamps in microseconds and `NUMERIC` as
//! `DECIMAL(38,9)`, others write strings for everything. Each column is turned into text by what its type means:
//! - text of any encoding (plain, large, view, dictionary, or bytes that must be UTF-8) as it is;
//! - numbers of any width (integers, floats, decimals of 32 to 256 bits) in their exact decimal text;
//! - timestamps of any unit, with or without a zone, as UTC (a zone-less timestamp is UTC, as FOCUS requires), and
//!   dates as their midnight UTC;
//! - maps, structs and lists as canonical JSON (RFC 8785), with a list of key-value structs (BigQuery's
//!   `ARRAY<STRUCT<key, value>>` labels) as the object it means when the column is a JSON object column.
//!
//! A cell that cannot be turned into text (bytes that are not UTF-8, a map with one key twice) is reported by row
//! and column, so the row is quarantined and the rest of the file is read.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringArray, StringBuilder};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, FieldRef, Schema, TimeUnit};
use arrow::error::ArrowError;
use arrow::json::writer::{EncoderOptions, make_encoder};
use arrow::record_batch::RecordBatch;

use crate::schema::Kind;

/// One cell that has no text form.
#[derive(Debug, Clone)]
pub(crate) struct BadCell {
    /// The row in the batch, 0-based.
    pub row: usize,
    /// The column in the file.
    pub col: usize,
    /// What the cell holds, as far as it can be shown.
    pub raw: String,
    /// Why it was refused.
    pub reason: String,
}

/// A batch as text, with the cells that have none.
#[derive(Debug)]
pub(crate) struct Text {
    /// Every column as `Utf8`.
    pub batch: RecordBatch,
    /// Cells without a text form, sorted by row.
    bad: Vec<BadCell>,
}

impl Text {
    /// The bad cells of row `r`.
    pub(crate) fn bad_cells(&self, r: usize) -> impl Iterator<Item = &BadCell> {
        let from = self.bad.partition_point(|c| c.row < r);
        self.bad[from..].iter().take_while(move |c| c.row == r)
    }
}

/// Whether a type is a JSON value that can be an object: a map, a struct, or a list (of key-value structs).
pub(crate) fn is_json(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Map(..)
            | DataType::Struct(_)
            | DataType::List(_)
            | DataType::LargeList(_)
            | DataType::ListView(_)
            | DataType::LargeListView(_)
            | DataType::FixedSizeList(..)
    )
}

/// Every column of `b` as text; `kinds` gives the FOCUS kind of each known column (`None` for extensions).
pub(crate) fn as_text(b: &RecordBatch, kinds: &[Option<Kind>]) -> Result<Text, ArrowError> {
    let mut cols = Vec::with_capacity(b.num_columns());
    let mut fields = Vec::with_capacity(b.num_columns());
    let mut bad = Vec::new();
    for (i, ((c, f), kind)) in b.columns().iter().zip(b.schema().fields()).zip(kinds).enumerate() {
        cols.push(column_text(f, c, *kind, i, &mut bad)?);
        fields.push(Field::new(f.name(), DataType::Utf8, true));
    }
    bad.sort_by_key(|c| c.row);
    Ok(Text { batch: RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?, bad })
}

fn column_text(field: &FieldRef, c: &ArrayRef, kind: Option<Kind>, col: usize, bad: &mut Vec<BadCell>) -> Result<ArrayRef, ArrowError> {
    use DataType::*;
    // A dictionary means its values.
    let c = match c.data_type() {
        Dictionary(_, v) => cast(c, v)?,
        _ => c.clone(),
    };
    Ok(match c.data_type() {
        Utf8 => c,
        LargeUtf8 | Utf8View | Null => cast(&c, &Utf8)?,
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => utf8_bytes(&c, col, bad)?,
        Timestamp(unit, _) => timestamp_text(&c, *unit)?,
        dt if is_json(dt) => Arc::new(json_text(field, &c, kind == Some(Kind::Json), col, bad)?),
        _ => cast(&c, &Utf8)?,
    })
}

/// Bytes that must be UTF-8 text; a value that is not is a bad cell.
fn utf8_bytes(c: &ArrayRef, col: usize, bad: &mut Vec<BadCell>) -> Result<ArrayRef, ArrowError> {
    let c = cast(c, &DataType::LargeBinary)?;
    let bytes = c.as_binary::<i64>();
    let mut out = StringBuilder::with_capacity(bytes.len(), bytes.values().len());
    for (row, v) in bytes.iter().enumerate() {
        match v.map(std::str::from_utf8) {
            None => out.append_null(),
            Some(Ok(s)) => out.append_value(s),
            Some(Err(_)) => {
                bad.push(BadCell {
                    row,
                    col,
                    raw: String::from_utf8_lossy(v.unwrap_or_default()).chars().take(200).collect(),
                    reason: "not valid UTF-8".into(),
                });
                out.append_null();
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

/// A timestamp as RFC 3339 text in UTC (`…Z`). A zoned timestamp stores UTC instants and a zone-less one stores
/// wall-clock time, which FOCUS says is UTC, so both are the same numbers: the zone is dropped, not converted.
fn timestamp_text(c: &ArrayRef, unit: TimeUnit) -> Result<ArrayRef, ArrowError> {
    use arrow::datatypes::{TimestampMicrosecondType as Us, TimestampMillisecondType as Ms, TimestampNanosecondType as Ns, TimestampSecondType as S};
    let utc: ArrayRef = match unit {
        TimeUnit::Second => Arc::new(c.as_primitive::<S>().clone().with_timezone_opt(None::<String>)),
        TimeUnit::Millisecond => Arc::new(c.as_primitive::<Ms>().clone().with_timezone_opt(None::<String>)),
        TimeUnit::Microsecond => Arc::new(c.as_primitive::<Us>().clone().with_timezone_opt(None::<String>)),
        TimeUnit::Nanosecond => Arc::new(c.as_primitive::<Ns>().clone().with_timezone_opt(None::<String>)),
    };
    let text = cast(&utc, &DataType::Utf8)?;
    Ok(Arc::new(text.as_string::<i32>().iter().map(|v| v.map(|v| format!("{v}Z"))).collect::<StringArray>()))
}

/// Nested values as canonical JSON text. With `object`, the column must be a JSON object, and a list of structs
/// with `key` and `value` fields is the object of those pairs.
fn json_text(field: &FieldRef, c: &ArrayRef, object: bool, col: usize, bad: &mut Vec<BadCell>) -> Result<StringArray, ArrowError> {
    let opts = EncoderOptions::default().with_explicit_nulls(true);
    let mut enc = make_encoder(field, c.as_ref(), &opts)?;
    let map_keys = map_keys(c)?;
    let mut out = StringBuilder::with_capacity(c.len(), c.len() * 32);
    let mut buf = Vec::new();
    for row in 0..c.len() {
        if enc.is_null(row) {
            out.append_null();
            continue;
        }
        buf.clear();
        enc.encode(row, &mut buf);
        let mut refuse = |reason: String| {
            bad.push(BadCell { row, col, raw: String::from_utf8_lossy(&buf).chars().take(200).collect(), reason });
        };
        if let Some(key) = map_keys.as_ref().and_then(|k| k.duplicate(row)) {
            refuse(format!("the map holds key {key:?} twice"));
            out.append_null();
            continue;
        }
        let value: serde_json::Value = serde_json::from_slice(&buf).map_err(|e| ArrowError::JsonError(e.to_string()))?;
        let value = if object { crate::value::key_value_object(value) } else { Ok(value) };
        match value.and_then(|v| serde_json_canonicalizer::to_string(&v).map_err(|e| e.to_string())) {
            Ok(text) => out.append_value(text),
            Err(reason) => {
                refuse(reason);
                out.append_null();
            }
        }
    }
    Ok(out.finish())
}

/// The keys of each row of a map column, to refuse a map that holds a key twice (JSON text would keep one).
struct MapKeys {
    offsets: Vec<usize>,
    keys: StringArray,
}

impl MapKeys {
    fn duplicate(&self, row: usize) -> Option<&str> {
        let mut seen = HashSet::new();
        (self.offsets[row]..self.offsets[row + 1]).map(|i| self.keys.value(i)).find(|k| !seen.insert(*k))
    }
}

fn map_keys(c: &ArrayRef) -> Result<Option<MapKeys>, ArrowError> {
    let Some(map) = c.as_map_opt() else {
        return Ok(None);
    };
    let keys = cast(map.keys(), &DataType::Utf8)?.as_string::<i32>().clone();
    Ok(Some(MapKeys { offsets: map.offsets().iter().map(|o| *o as usize).collect(), keys }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Decimal128Array, Float64Array, Int64Array, MapBuilder, StringBuilder as SB, TimestampMillisecondArray};

    fn one(array: ArrayRef, kind: Option<Kind>) -> (Vec<Option<String>>, Vec<BadCell>) {
        let field = Arc::new(Field::new("c", array.data_type().clone(), true));
        let b = RecordBatch::try_new(Arc::new(Schema::new(vec![field])), vec![array]).unwrap();
        let t = as_text(&b, &[kind]).unwrap();
        let col = t.batch.column(0).as_string::<i32>();
        (col.iter().map(|v| v.map(str::to_string)).collect(), t.bad)
    }

    #[test]
    fn maps_become_canonical_json_objects() {
        let mut m = MapBuilder::new(None, SB::new(), SB::new());
        m.keys().append_value("team");
        m.values().append_value("b");
        m.keys().append_value("env");
        m.values().append_value("prod");
        m.append(true).unwrap();
        m.append(false).unwrap();
        m.append(true).unwrap();
        let (text, bad) = one(Arc::new(m.finish()), Some(Kind::Json));
        assert_eq!(text, vec![Some(r#"{"env":"prod","team":"b"}"#.into()), None, Some("{}".into())]);
        assert!(bad.is_empty());
    }

    #[test]
    fn a_map_with_a_key_twice_is_a_bad_cell() {
        let mut m = MapBuilder::new(None, SB::new(), SB::new());
        for v in ["a", "b"] {
            m.keys().append_value("k");
            m.values().append_value(v);
        }
        m.append(true).unwrap();
        let (_, bad) = one(Arc::new(m.finish()), Some(Kind::Json));
        assert_eq!(bad.len(), 1);
        assert!(bad[0].reason.contains("twice"), "{}", bad[0].reason);
    }

    /// Google's FOCUS view writes `Tags` as `ARRAY<STRUCT<key, value, x_type, x_inherited, x_namespace>>`.
    #[test]
    fn key_value_lists_become_the_object_they_mean() {
        use arrow::array::{ListBuilder, StructBuilder};
        let fields =
            vec![Field::new("Key", DataType::Utf8, true), Field::new("Value", DataType::Utf8, true), Field::new("x_inherited", DataType::Boolean, true)];
        let mut l = ListBuilder::new(StructBuilder::from_fields(fields, 2));
        for (k, v) in [("env", "prod"), ("app", "calls")] {
            let s = l.values();
            s.field_builder::<SB>(0).unwrap().append_value(k);
            s.field_builder::<SB>(1).unwrap().append_value(v);
            s.field_builder::<arrow::array::BooleanBuilder>(2).unwrap().append_value(false);
            s.append(true);
        }
        l.append(true);
        l.append(true);
        let list: ArrayRef = Arc::new(l.finish());
        let (text, bad) = one(list.clone(), Some(Kind::Json));
        assert_eq!(text, vec![Some(r#"{"app":"calls","env":"prod"}"#.into()), Some("{}".into())]);
        assert!(bad.is_empty());
        // An extension column keeps the list as it is, every field included.
        let (text, _) = one(list, None);
        assert_eq!(text[0].as_deref(), Some(r#"[{"Key":"env","Value":"prod","x_inherited":false},{"Key":"app","Value":"calls","x_inherited":false}]"#));
    }

    #[test]
    fn numbers_keep_their_exact_decimal_text() {
        let d = Decimal128Array::from(vec![Some(690_000_000_000_000_000_000_000_000_000i128), None]).with_precision_and_scale(38, 9).unwrap();
        assert_eq!(one(Arc::new(d), Some(Kind::Quantity)).0, vec![Some("690000000000000000000.000000000".into()), None]);
        assert_eq!(one(Arc::new(Int64Array::from(vec![7])), Some(Kind::Quantity)).0, vec![Some("7".into())]);
        let f = one(Arc::new(Float64Array::from(vec![6.9e20, 0.1])), Some(Kind::Quantity)).0;
        assert_eq!(crate::value::parse_decimal(f[0].as_deref().unwrap(), 9), Ok(690_000_000_000_000_000_000 * 1_000_000_000));
        assert_eq!(f[1].as_deref(), Some("0.1"));
    }

    #[test]
    fn zoned_and_zoneless_timestamps_are_the_same_instant() {
        let ms = 1_727_740_800_000i64; // 2024-10-01T00:00:00Z
        for tz in [None, Some("UTC"), Some("+00:00"), Some("America/New_York")] {
            let a = TimestampMillisecondArray::from(vec![ms]).with_timezone_opt(tz);
            let text = one(Arc::new(a), Some(Kind::DateTime)).0;
            let t = text[0].as_deref().unwrap();
            assert_eq!(crate::value::parse_datetime(t), Ok(ms * 1000), "{tz:?}: {t}");
        }
    }
}

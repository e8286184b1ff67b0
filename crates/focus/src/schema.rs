//! The FOCUS columns oversight knows, their lake types, and version detection.
//!
//! The lake keeps one stable schema whatever FOCUS version came in: the known columns typed, provenance columns
//! (`_delivery`, `_file`, `_row`), and every other column (`x_` extensions and non-FOCUS extras such as the sample
//! data's `Id`) as raw strings in one JSON object column, `x_extensions`. A stable schema lets an external engine read
//! every partition as one table.

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Precision of lake decimals: the widest Arrow `Decimal128`.
pub const DECIMAL_PRECISION: u8 = 38;
/// Scale of lake costs and prices: 18 places hold the toolkit's 17-place costs exactly.
pub const DECIMAL_SCALE: i8 = 18;
/// Scale of lake quantities: 9 places, BigQuery's `NUMERIC` (Google writes quantities as `DECIMAL(38,9)`), which
/// leaves 29 integer digits. The largest quantity in the public record, 8,000 TB kept for a year on one row in
/// byte-seconds, is 2.5e23; a row per day is 6.9e20. Scale 15 (23 integer digits) held the day but not the year,
/// and scale 18 not even 1.2 PB for a day. What is cut is below a billionth of a unit per row.
pub const QUANTITY_SCALE: i8 = 9;

/// The lake type of a known FOCUS column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text, kept as it came.
    Text,
    /// A datetime, stored as UTC microseconds.
    DateTime,
    /// A cost or a price, stored as `Decimal128(38, 18)`.
    Decimal,
    /// A quantity, stored as `Decimal128(38, 9)`.
    Quantity,
    /// A JSON object, validated and kept as text.
    Json,
}

impl Kind {
    /// The Arrow type this kind is stored as.
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Text | Kind::Json => DataType::Utf8,
            Kind::DateTime => DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
            Kind::Decimal => DataType::Decimal128(DECIMAL_PRECISION, DECIMAL_SCALE),
            Kind::Quantity => DataType::Decimal128(DECIMAL_PRECISION, QUANTITY_SCALE),
        }
    }
}

/// One known FOCUS column.
#[derive(Debug)]
pub struct Column {
    /// The FOCUS 1.2 name, used as the lake column name.
    pub name: &'static str,
    /// The lake type.
    pub kind: Kind,
    /// Other names providers write for it (1.0-preview and 1.3 renames).
    pub aliases: &'static [&'static str],
    /// The column must be in the header (the file is rejected otherwise).
    pub required: bool,
    /// Every row must carry a value (the row is quarantined otherwise).
    pub non_null: bool,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind, aliases: &[], required: false, non_null: false }
}
const fn req(name: &'static str, kind: Kind, non_null: bool) -> Column {
    Column { name, kind, aliases: &[], required: true, non_null }
}

use Kind::*;

/// Every known FOCUS column, 1.0 to 1.3, in lake order.
///
/// Required columns are the ones every later stage needs to place a charge in time and attribute it: FOCUS makes
/// them mandatory in every version. The provider column is required through its aliases (`Provider` in 1.0-preview,
/// `ServiceProviderName` in 1.3).
pub static COLUMNS: &[Column] = &[
    req("BillingAccountId", Text, true),
    col("BillingAccountName", Text),
    col("BillingAccountType", Text),
    col("SubAccountId", Text),
    col("SubAccountName", Text),
    col("SubAccountType", Text),
    req("BillingPeriodStart", DateTime, true),
    req("BillingPeriodEnd", DateTime, true),
    req("ChargePeriodStart", DateTime, true),
    req("ChargePeriodEnd", DateTime, true),
    req("ChargeCategory", Text, true),
    col("ChargeClass", Text),
    col("ChargeDescription", Text),
    col("ChargeFrequency", Text),
    req("BillingCurrency", Text, false),
    req("BilledCost", Decimal, true),
    req("EffectiveCost", Decimal, false),
    col("ListCost", Decimal),
    col("ContractedCost", Decimal),
    col("ListUnitPrice", Decimal),
    col("ContractedUnitPrice", Decimal),
    Column { name: "ProviderName", kind: Text, aliases: &["Provider", "ServiceProviderName"], required: true, non_null: false },
    Column { name: "PublisherName", kind: Text, aliases: &["Publisher"], required: false, non_null: false },
    Column { name: "InvoiceIssuerName", kind: Text, aliases: &["InvoiceIssuer"], required: false, non_null: false },
    col("HostProviderName", Text),
    col("InvoiceId", Text),
    req("ServiceName", Text, false),
    col("ServiceCategory", Text),
    col("ServiceSubcategory", Text),
    Column { name: "ResourceId", kind: Text, aliases: &["ResourceID"], required: false, non_null: false },
    col("ResourceName", Text),
    col("ResourceType", Text),
    // OCI's FOCUS reports write 1.0-preview names: `Region` (an id such as `us-ashburn-1`), `UsageQuantity`, `UsageUnit`.
    Column { name: "RegionId", kind: Text, aliases: &["Region"], required: false, non_null: false },
    col("RegionName", Text),
    col("AvailabilityZone", Text),
    col("SkuId", Text),
    col("SkuPriceId", Text),
    col("SkuMeter", Text),
    col("SkuPriceDetails", Json),
    col("PricingCategory", Text),
    col("PricingCurrency", Text),
    col("PricingQuantity", Quantity),
    col("PricingUnit", Text),
    Column { name: "ConsumedQuantity", kind: Quantity, aliases: &["UsageQuantity"], required: false, non_null: false },
    Column { name: "ConsumedUnit", kind: Text, aliases: &["UsageUnit"], required: false, non_null: false },
    col("CommitmentDiscountCategory", Text),
    col("CommitmentDiscountId", Text),
    col("CommitmentDiscountName", Text),
    col("CommitmentDiscountQuantity", Quantity),
    col("CommitmentDiscountStatus", Text),
    col("CommitmentDiscountType", Text),
    col("CommitmentDiscountUnit", Text),
    col("CapacityReservationId", Text),
    col("CapacityReservationStatus", Text),
    col("Tags", Json),
    // Provider extensions the meter catalog can key on. Kept as typed columns so a query can group by them;
    // every rule that uses them also has a FOCUS-only fallback, so correctness never depends on them.
    col("x_UsageType", Text),
    col("x_Operation", Text),
    col("x_ServiceCode", Text),
    col("x_SkuMeterId", Text),
    col("x_SkuMeterName", Text),
    col("x_SkuMeterCategory", Text),
    col("x_SkuMeterSubcategory", Text),
    col("x_SkuDescription", Text),
    col("x_ExportTime", Text),
];

/// Lake column holding every column that is not a known FOCUS column, as a JSON object of raw strings.
pub const EXTENSIONS: &str = "x_extensions";
/// Lake column: the delivery id the row came in.
pub const DELIVERY: &str = "_delivery";
/// Lake column: the source file, relative to the delivery root.
pub const FILE: &str = "_file";
/// Lake column: the 1-based data row in the source file.
pub const ROW: &str = "_row";

/// Look up a known column by its name or one of its aliases.
pub fn column(name: &str) -> Option<(usize, &'static Column)> {
    COLUMNS.iter().enumerate().find(|(_, c)| c.name == name || c.aliases.contains(&name))
}

/// The lake schema: the known columns, `x_extensions`, then the provenance columns.
pub fn lake_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let mut fields: Vec<Field> = COLUMNS.iter().map(|c| Field::new(c.name, c.kind.data_type(), !c.non_null)).collect();
        fields.push(Field::new(EXTENSIONS, DataType::Utf8, true));
        fields.push(Field::new(DELIVERY, DataType::Utf8, false));
        fields.push(Field::new(FILE, DataType::Utf8, false));
        fields.push(Field::new(ROW, DataType::UInt64, false));
        Arc::new(Schema::new(fields))
    });
    SCHEMA.clone()
}

/// Which FOCUS version a header looks like, from the columns each version added.
pub fn detect_version(header: &[&str]) -> &'static str {
    let has = |n: &str| header.contains(&n);
    if has("ServiceProviderName") || has("HostProviderName") {
        "1.3"
    } else if has("BillingAccountType") || has("PricingCurrency") || has("CapacityReservationId") || has("InvoiceId") {
        "1.2"
    } else if has("SkuMeter") || has("ServiceSubcategory") || has("SkuPriceDetails") {
        "1.1"
    } else if has("Provider") || has("Publisher") {
        "1.0-preview"
    } else {
        "1.0"
    }
}

/// FOCUS's spelling of an enumerated value written in another case, such as Google's FOCUS view, which writes
/// `ChargeCategory` as `usage` and `ChargeClass` as `correction`. `None` when the value is already FOCUS's, or is
/// not one of its values (kept as written).
pub fn canonical_value(column: &str, raw: &str) -> Option<&'static str> {
    let allowed: &[&'static str] = match column {
        "ChargeCategory" => &["Usage", "Purchase", "Tax", "Credit", "Adjustment"],
        "ChargeClass" => &["Correction"],
        "ChargeFrequency" => &["One-Time", "Recurring", "Usage-Based"],
        "PricingCategory" => &["Standard", "Dynamic", "Committed", "Other"],
        _ => return None,
    };
    allowed.iter().find(|v| v.eq_ignore_ascii_case(raw) && **v != raw).copied()
}

/// The required columns a header lacks (an alias counts as present).
pub fn missing_required(header: &[&str]) -> Vec<&'static str> {
    COLUMNS.iter().filter(|c| c.required && !header.iter().any(|h| *h == c.name || c.aliases.contains(h))).map(|c| c.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_to_the_lake_name() {
        assert_eq!(column("ServiceProviderName").unwrap().1.name, "ProviderName");
        assert_eq!(column("Publisher").unwrap().1.name, "PublisherName");
        assert!(column("x_CostCategories").is_none());
    }

    #[test]
    fn versions_are_told_apart_by_their_new_columns() {
        assert_eq!(detect_version(&["BilledCost", "ProviderName"]), "1.0");
        assert_eq!(detect_version(&["SkuMeter"]), "1.1");
        assert_eq!(detect_version(&["SkuMeter", "InvoiceId"]), "1.2");
        assert_eq!(detect_version(&["ServiceProviderName"]), "1.3");
    }

    #[test]
    fn enumerated_values_take_focus_spelling() {
        assert_eq!(canonical_value("ChargeCategory", "usage"), Some("Usage"));
        assert_eq!(canonical_value("ChargeCategory", "Usage"), None);
        assert_eq!(canonical_value("ChargeCategory", "error"), None);
        assert_eq!(canonical_value("ChargeClass", "correction"), Some("Correction"));
        assert_eq!(canonical_value("ServiceName", "usage"), None);
    }

    #[test]
    fn schema_names_are_unique() {
        let schema = lake_schema();
        let mut names: Vec<_> = schema.fields().iter().map(|f| f.name().clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), schema.fields().len());
    }
}

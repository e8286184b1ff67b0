//! FOCUS rows and the files they are written to: CSV, gzip-compressed CSV or Parquet, in FOCUS 1.2 or 1.0 columns.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use crate::meters::Meter;
use crate::{Cloud, FocusVersion, Format, SimError};

/// One daily charge, as a provider writes it.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    /// `BillingAccountId`.
    pub billing_account_id: &'a str,
    /// `BillingAccountName`.
    pub billing_account_name: &'a str,
    /// `SubAccountId`.
    pub sub_account_id: &'a str,
    /// `SubAccountName`.
    pub sub_account_name: &'a str,
    /// First day of the billing month.
    pub billing_start: NaiveDate,
    /// First day of the next month.
    pub billing_end: NaiveDate,
    /// The day charged.
    pub day: NaiveDate,
    /// The meter.
    pub meter: &'static Meter,
    /// `ConsumedQuantity`.
    pub consumed: f64,
    /// `PricingQuantity`.
    pub pricing: f64,
    /// `PublisherName`.
    pub publisher: &'a str,
    /// `RegionId` and `RegionName`.
    pub region: (&'static str, &'static str),
    /// `ResourceId`.
    pub resource_id: &'a str,
    /// `ResourceName`.
    pub resource_name: &'a str,
    /// `InvoiceId` (set once the month is invoiced).
    pub invoice_id: Option<&'a str>,
    /// `Tags`, a JSON object.
    pub tags: &'a str,
}

impl Row<'_> {
    /// List cost: pricing quantity × list unit price (no discounts are simulated, so every cost column agrees).
    pub fn cost(&self) -> f64 {
        self.pricing * self.meter.price
    }
}

/// A column the simulator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    AvailabilityZone,
    BilledCost,
    BillingAccountId,
    BillingAccountName,
    BillingAccountType,
    BillingCurrency,
    BillingPeriodEnd,
    BillingPeriodStart,
    CapacityReservationId,
    CapacityReservationStatus,
    ChargeCategory,
    ChargeClass,
    ChargeDescription,
    ChargeFrequency,
    ChargePeriodEnd,
    ChargePeriodStart,
    CommitmentDiscountCategory,
    CommitmentDiscountId,
    CommitmentDiscountName,
    CommitmentDiscountQuantity,
    CommitmentDiscountStatus,
    CommitmentDiscountType,
    CommitmentDiscountUnit,
    ConsumedQuantity,
    ConsumedUnit,
    ContractedCost,
    ContractedUnitPrice,
    EffectiveCost,
    InvoiceId,
    InvoiceIssuerName,
    ListCost,
    ListUnitPrice,
    PricingCategory,
    PricingCurrency,
    PricingCurrencyContractedUnitPrice,
    PricingCurrencyEffectiveCost,
    PricingCurrencyListUnitPrice,
    PricingQuantity,
    PricingUnit,
    ProviderName,
    PublisherName,
    RegionId,
    RegionName,
    ResourceId,
    ResourceName,
    ResourceType,
    ServiceCategory,
    ServiceName,
    ServiceSubcategory,
    SkuId,
    SkuMeter,
    SkuPriceDetails,
    SkuPriceId,
    SubAccountId,
    SubAccountName,
    SubAccountType,
    Tags,
    XSkuMeterId,
    XPricingBlockSize,
    XPricingUnitDescription,
    XUsageType,
    // OCI's FOCUS reports: FOCUS 1.0-preview names and its own `oci_` columns.
    Provider,
    Publisher,
    Region,
    InvoiceIssuer,
    ChargeSubcategory,
    UsageQuantity,
    UsageUnit,
    OciReferenceNumber,
    OciCompartmentId,
    OciCompartmentName,
    OciOverageFlag,
    OciUnitPriceOverage,
    OciBilledQuantityOverage,
    OciCostOverage,
    OciAttributedUsage,
    OciAttributedCost,
    OciBackReferenceNumber,
}

use Col::*;

/// FOCUS 1.0's columns, in the order of the FinOps Foundation's sample.
const V1_0: &[Col] = &[
    AvailabilityZone,
    BilledCost,
    BillingAccountId,
    BillingAccountName,
    BillingCurrency,
    BillingPeriodEnd,
    BillingPeriodStart,
    ChargeCategory,
    ChargeClass,
    ChargeDescription,
    ChargeFrequency,
    ChargePeriodEnd,
    ChargePeriodStart,
    CommitmentDiscountCategory,
    CommitmentDiscountId,
    CommitmentDiscountName,
    CommitmentDiscountStatus,
    CommitmentDiscountType,
    ConsumedQuantity,
    ConsumedUnit,
    ContractedCost,
    ContractedUnitPrice,
    EffectiveCost,
    InvoiceIssuerName,
    ListCost,
    ListUnitPrice,
    PricingCategory,
    PricingQuantity,
    PricingUnit,
    ProviderName,
    PublisherName,
    RegionId,
    RegionName,
    ResourceId,
    ResourceName,
    ResourceType,
    ServiceCategory,
    ServiceName,
    SkuId,
    SkuPriceId,
    SubAccountId,
    SubAccountName,
    Tags,
];

/// FOCUS 1.2's columns: 1.0's, 1.1's additions (capacity reservations, commitment quantity, subcategory, SKU meter and
/// price details) and 1.2's (account types, invoice id, pricing currency).
const V1_2: &[Col] = &[
    AvailabilityZone,
    BilledCost,
    BillingAccountId,
    BillingAccountName,
    BillingAccountType,
    BillingCurrency,
    BillingPeriodEnd,
    BillingPeriodStart,
    CapacityReservationId,
    CapacityReservationStatus,
    ChargeCategory,
    ChargeClass,
    ChargeDescription,
    ChargeFrequency,
    ChargePeriodEnd,
    ChargePeriodStart,
    CommitmentDiscountCategory,
    CommitmentDiscountId,
    CommitmentDiscountName,
    CommitmentDiscountQuantity,
    CommitmentDiscountStatus,
    CommitmentDiscountType,
    CommitmentDiscountUnit,
    ConsumedQuantity,
    ConsumedUnit,
    ContractedCost,
    ContractedUnitPrice,
    EffectiveCost,
    InvoiceId,
    InvoiceIssuerName,
    ListCost,
    ListUnitPrice,
    PricingCategory,
    PricingCurrency,
    PricingCurrencyContractedUnitPrice,
    PricingCurrencyEffectiveCost,
    PricingCurrencyListUnitPrice,
    PricingQuantity,
    PricingUnit,
    ProviderName,
    PublisherName,
    RegionId,
    RegionName,
    ResourceId,
    ResourceName,
    ResourceType,
    ServiceCategory,
    ServiceName,
    ServiceSubcategory,
    SkuId,
    SkuMeter,
    SkuPriceDetails,
    SkuPriceId,
    SubAccountId,
    SubAccountName,
    SubAccountType,
    Tags,
];

fn name(c: Col) -> &'static str {
    match c {
        AvailabilityZone => "AvailabilityZone",
        BilledCost => "BilledCost",
        BillingAccountId => "BillingAccountId",
        BillingAccountName => "BillingAccountName",
        BillingAccountType => "BillingAccountType",
        BillingCurrency => "BillingCurrency",
        BillingPeriodEnd => "BillingPeriodEnd",
        BillingPeriodStart => "BillingPeriodStart",
        CapacityReservationId => "CapacityReservationId",
        CapacityReservationStatus => "CapacityReservationStatus",
        ChargeCategory => "ChargeCategory",
        ChargeClass => "ChargeClass",
        ChargeDescription => "ChargeDescription",
        ChargeFrequency => "ChargeFrequency",
        ChargePeriodEnd => "ChargePeriodEnd",
        ChargePeriodStart => "ChargePeriodStart",
        CommitmentDiscountCategory => "CommitmentDiscountCategory",
        CommitmentDiscountId => "CommitmentDiscountId",
        CommitmentDiscountName => "CommitmentDiscountName",
        CommitmentDiscountQuantity => "CommitmentDiscountQuantity",
        CommitmentDiscountStatus => "CommitmentDiscountStatus",
        CommitmentDiscountType => "CommitmentDiscountType",
        CommitmentDiscountUnit => "CommitmentDiscountUnit",
        ConsumedQuantity => "ConsumedQuantity",
        ConsumedUnit => "ConsumedUnit",
        ContractedCost => "ContractedCost",
        ContractedUnitPrice => "ContractedUnitPrice",
        EffectiveCost => "EffectiveCost",
        InvoiceId => "InvoiceId",
        InvoiceIssuerName => "InvoiceIssuerName",
        ListCost => "ListCost",
        ListUnitPrice => "ListUnitPrice",
        PricingCategory => "PricingCategory",
        PricingCurrency => "PricingCurrency",
        PricingCurrencyContractedUnitPrice => "PricingCurrencyContractedUnitPrice",
        PricingCurrencyEffectiveCost => "PricingCurrencyEffectiveCost",
        PricingCurrencyListUnitPrice => "PricingCurrencyListUnitPrice",
        PricingQuantity => "PricingQuantity",
        PricingUnit => "PricingUnit",
        ProviderName => "ProviderName",
        PublisherName => "PublisherName",
        RegionId => "RegionId",
        RegionName => "RegionName",
        ResourceId => "ResourceId",
        ResourceName => "ResourceName",
        ResourceType => "ResourceType",
        ServiceCategory => "ServiceCategory",
        ServiceName => "ServiceName",
        ServiceSubcategory => "ServiceSubcategory",
        SkuId => "SkuId",
        SkuMeter => "SkuMeter",
        SkuPriceDetails => "SkuPriceDetails",
        SkuPriceId => "SkuPriceId",
        SubAccountId => "SubAccountId",
        SubAccountName => "SubAccountName",
        SubAccountType => "SubAccountType",
        Tags => "Tags",
        XSkuMeterId => "x_SkuMeterId",
        XPricingBlockSize => "x_PricingBlockSize",
        XPricingUnitDescription => "x_PricingUnitDescription",
        XUsageType => "x_UsageType",
        Provider => "Provider",
        Publisher => "Publisher",
        Region => "Region",
        InvoiceIssuer => "InvoiceIssuer",
        ChargeSubcategory => "ChargeSubcategory",
        UsageQuantity => "UsageQuantity",
        UsageUnit => "UsageUnit",
        OciReferenceNumber => "oci_ReferenceNumber",
        OciCompartmentId => "oci_CompartmentId",
        OciCompartmentName => "oci_CompartmentName",
        OciOverageFlag => "oci_OverageFlag",
        OciUnitPriceOverage => "oci_UnitPriceOverage",
        OciBilledQuantityOverage => "oci_BilledQuantityOverage",
        OciCostOverage => "oci_CostOverage",
        OciAttributedUsage => "oci_AttributedUsage",
        OciAttributedCost => "oci_AttributedCost",
        OciBackReferenceNumber => "oci_BackReferenceNumber",
    }
}

/// OCI's FOCUS report header, in its order, whatever FOCUS version is asked for: 39 FOCUS 1.0-preview columns in
/// alphabetical order, then ten `oci_` columns (corpus/sources/oci.md §2, from Oracle's Log Analytics parser).
const OCI: &[Col] = &[
    AvailabilityZone,
    BilledCost,
    BillingAccountId,
    BillingAccountName,
    BillingCurrency,
    BillingPeriodEnd,
    BillingPeriodStart,
    ChargeCategory,
    ChargeDescription,
    ChargeFrequency,
    ChargePeriodEnd,
    ChargePeriodStart,
    ChargeSubcategory,
    CommitmentDiscountCategory,
    CommitmentDiscountId,
    CommitmentDiscountName,
    CommitmentDiscountType,
    EffectiveCost,
    InvoiceIssuer,
    ListCost,
    ListUnitPrice,
    PricingCategory,
    PricingQuantity,
    PricingUnit,
    Provider,
    Publisher,
    Region,
    ResourceId,
    ResourceName,
    ResourceType,
    ServiceCategory,
    ServiceName,
    SkuId,
    SkuPriceId,
    SubAccountId,
    SubAccountName,
    Tags,
    UsageQuantity,
    UsageUnit,
    OciReferenceNumber,
    OciCompartmentId,
    OciCompartmentName,
    OciOverageFlag,
    OciUnitPriceOverage,
    OciBilledQuantityOverage,
    OciCostOverage,
    OciAttributedUsage,
    OciAttributedCost,
    OciBackReferenceNumber,
];

/// The columns of a file: the version's FOCUS columns and the provider's `x_` extensions.
pub struct Columns(Vec<Col>);

impl Columns {
    /// Columns for a cloud's export in a FOCUS version.
    pub fn new(cloud: Cloud, version: FocusVersion) -> Columns {
        if cloud == Cloud::Oci {
            return Columns(OCI.to_vec());
        }
        let mut cols = match version {
            FocusVersion::V1_0 => V1_0.to_vec(),
            FocusVersion::V1_2 => V1_2.to_vec(),
        };
        match cloud {
            Cloud::Azure => cols.extend([XSkuMeterId, XPricingBlockSize, XPricingUnitDescription]),
            Cloud::Aws => cols.push(XUsageType),
            Cloud::Gcp | Cloud::Oci => {}
        }
        Columns(cols)
    }

    /// The header names.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|c| name(*c)).collect()
    }
}

/// One cell's value.
enum Cell<'a> {
    Text(&'a str),
    Num(f64),
    Time(NaiveDate),
    Null,
}

fn cell<'a>(c: Col, r: &'a Row<'a>) -> Cell<'a> {
    let m = r.meter;
    let cost = r.cost();
    let text = |s: &'a str| if s.is_empty() { Cell::Null } else { Cell::Text(s) };
    match c {
        BilledCost | ContractedCost | EffectiveCost | ListCost | PricingCurrencyEffectiveCost => Cell::Num(cost),
        ListUnitPrice | ContractedUnitPrice | PricingCurrencyListUnitPrice | PricingCurrencyContractedUnitPrice => Cell::Num(m.price),
        BillingAccountId => Cell::Text(r.billing_account_id),
        BillingAccountName => Cell::Text(r.billing_account_name),
        BillingAccountType => Cell::Text(m.cloud.billing_account_type()),
        BillingCurrency | PricingCurrency => Cell::Text("USD"),
        BillingPeriodStart => Cell::Time(r.billing_start),
        BillingPeriodEnd => Cell::Time(r.billing_end),
        ChargePeriodStart => Cell::Time(r.day),
        ChargePeriodEnd => Cell::Time(r.day.succ_opt().expect("dates stay in range")),
        // Google's FOCUS view writes its charge categories in lower case (corpus/sources/gcp.md §1).
        ChargeCategory => Cell::Text(if m.cloud == Cloud::Gcp { "usage" } else { "Usage" }),
        ChargeDescription => text(m.charge_description),
        ChargeFrequency => Cell::Text("Usage-Based"),
        ConsumedQuantity => Cell::Num(r.consumed),
        ConsumedUnit => Cell::Text(m.consumed_unit),
        InvoiceId => r.invoice_id.map_or(Cell::Null, Cell::Text),
        InvoiceIssuerName => Cell::Text(m.cloud.publisher()),
        PricingCategory => Cell::Text("Standard"),
        PricingQuantity => Cell::Num(r.pricing),
        PricingUnit => Cell::Text(m.pricing_unit),
        ProviderName => Cell::Text(m.cloud.provider_name()),
        PublisherName => Cell::Text(r.publisher),
        RegionId => Cell::Text(r.region.0),
        RegionName => Cell::Text(r.region.1),
        ResourceId => Cell::Text(r.resource_id),
        ResourceName => Cell::Text(r.resource_name),
        ResourceType => text(m.resource_type),
        ServiceCategory => Cell::Text(m.service_category),
        ServiceName => Cell::Text(m.service_name),
        ServiceSubcategory => Cell::Text(m.service_subcategory),
        SkuId | SkuPriceId => text(m.sku_id),
        SkuMeter => text(m.sku_meter),
        SubAccountId => Cell::Text(r.sub_account_id),
        SubAccountName => Cell::Text(r.sub_account_name),
        SubAccountType => Cell::Text(m.cloud.sub_account_type()),
        Tags => Cell::Text(r.tags),
        XSkuMeterId => text(m.meter_id),
        XPricingBlockSize => Cell::Num(m.block),
        XPricingUnitDescription => text(m.unit_of_measure),
        XUsageType => text(m.usage_type),
        Provider => Cell::Text(m.cloud.provider_name()),
        Publisher => Cell::Text(r.publisher),
        Region => Cell::Text(r.region.0),
        InvoiceIssuer => Cell::Text(m.cloud.publisher()),
        ChargeSubcategory => Cell::Text("On-Demand"),
        UsageQuantity => Cell::Num(r.consumed),
        UsageUnit => Cell::Text(m.consumed_unit),
        // A tenancy's root compartment has the tenancy's OCID.
        OciCompartmentId => Cell::Text(r.sub_account_id),
        OciCompartmentName => Cell::Text(r.sub_account_name),
        OciReferenceNumber
        | OciOverageFlag
        | OciUnitPriceOverage
        | OciBilledQuantityOverage
        | OciCostOverage
        | OciAttributedUsage
        | OciAttributedCost
        | OciBackReferenceNumber => Cell::Null,
        AvailabilityZone
        | CapacityReservationId
        | CapacityReservationStatus
        | ChargeClass
        | CommitmentDiscountCategory
        | CommitmentDiscountId
        | CommitmentDiscountName
        | CommitmentDiscountQuantity
        | CommitmentDiscountStatus
        | CommitmentDiscountType
        | CommitmentDiscountUnit
        | SkuPriceDetails => Cell::Null,
    }
}

/// Write a number with at most 10 significant digits and no exponent: what billing systems print, and exactly
/// what the lake's decimals read back.
pub fn format_number(x: f64, out: &mut String) {
    use std::fmt::Write as _;
    if x == 0.0 || !x.is_finite() {
        out.push('0');
        return;
    }
    let magnitude = x.abs().log10().floor() as i32;
    let places = (9 - magnitude).clamp(0, 18) as usize;
    let start = out.len();
    write!(out, "{x:.places$}").expect("writing to a String");
    if out[start..].contains('.') {
        let trimmed = out[start..].trim_end_matches('0').trim_end_matches('.').len();
        out.truncate(start + trimmed);
    }
}

/// How each cloud writes the same values (corpus/README.md and corpus/sources/ cite each form), so that every
/// simulated world exercises the forms real exports come in.
#[derive(Debug, Clone, Copy)]
struct Dialect {
    cloud: Cloud,
    version: FocusVersion,
}

impl Dialect {
    /// The instant a date column means: midnight UTC, except Google's billing period, which starts at midnight
    /// Pacific time (its view parses `invoice.month` in America/Los_Angeles).
    fn instant(self, c: Col, d: NaiveDate) -> NaiveDateTime {
        let midnight = d.and_hms_opt(0, 0, 0).expect("midnight");
        match (self.cloud, c) {
            (Cloud::Gcp, BillingPeriodStart | BillingPeriodEnd) => midnight + chrono::Duration::hours(pacific_offset_hours(d)),
            // OCI ends a billing period on its last millisecond, not at the next month's start.
            (Cloud::Oci, BillingPeriodEnd) => midnight - chrono::Duration::milliseconds(1),
            _ => midnight,
        }
    }

    /// A datetime of column `c` as the cloud's CSV writes it.
    fn time_text(self, c: Col, t: NaiveDateTime, out: &mut String) {
        use std::fmt::Write as _;
        let f = match (self.cloud, self.version) {
            // OCI: the billing period in milliseconds, the charge period in minutes.
            (Cloud::Oci, _) if matches!(c, BillingPeriodStart | BillingPeriodEnd) => "%Y-%m-%dT%H:%M:%S%.3fZ",
            (Cloud::Oci, _) => "%Y-%m-%dT%H:%MZ",
            // FocusCost 1.0 has no seconds; 1.0r2 and 1.2 add them.
            (Cloud::Azure, FocusVersion::V1_0) => "%Y-%m-%dT%H:%MZ",
            (Cloud::Azure, FocusVersion::V1_2) => "%Y-%m-%dT%H:%M:%SZ",
            (Cloud::Aws, _) => "%Y-%m-%dT%H:%M:%S.000Z",
            // BigQuery's text form of a TIMESTAMP.
            (Cloud::Gcp, _) => "%Y-%m-%d %H:%M:%S UTC",
        };
        write!(out, "{}", t.format(f)).expect("writing to a String");
    }

    /// A number as the cloud's CSV writes it: AWS's Spark writer prints doubles as Java does (E notation outside
    /// 1e-3 to 1e7), OCI fixed 12 places; the others plain decimals.
    fn number_text(self, x: f64, out: &mut String) {
        use std::fmt::Write as _;
        if self.cloud == Cloud::Aws && x != 0.0 && !(1e-3..1e7).contains(&x.abs()) {
            write!(out, "{x:E}").expect("writing to a String");
        } else if self.cloud == Cloud::Oci {
            // OCI writes fixed 12 decimal places (`0.000000000000`).
            write!(out, "{x:.12}").expect("writing to a String");
        } else {
            format_number(x, out);
        }
    }

    /// `Tags` as the cloud's CSV writes it: a JSON object, or for Google BigQuery's `TO_JSON_STRING` of the view's
    /// `ARRAY<STRUCT<key, value, …>>`.
    fn tags_text(self, tags: &str, out: &mut String) {
        match self.cloud {
            Cloud::Gcp => out.push_str(
                &serde_json::Value::Array(tag_pairs(tags).into_iter().map(|(k, v)| serde_json::json!({"key": k, "value": v, "x_inherited": false})).collect())
                    .to_string(),
            ),
            _ => out.push_str(tags),
        }
    }

    /// The Parquet type of a column kind: Azure writes decimals and nanosecond timestamps, AWS doubles, UTC
    /// millisecond timestamps and maps, Google (BigQuery) `DECIMAL(38,9)`, zone-less microseconds and lists of
    /// key-value records.
    fn parquet_type(self, k: Kind, c: Col) -> DataType {
        match (self.cloud, k) {
            (Cloud::Azure | Cloud::Oci, Kind::Num) => DataType::Decimal128(38, 18),
            (Cloud::Gcp, Kind::Num) => DataType::Decimal128(38, 9),
            (Cloud::Aws, Kind::Num) => DataType::Float64,
            (Cloud::Azure | Cloud::Oci, Kind::Time) => DataType::Timestamp(TimeUnit::Nanosecond, None),
            (Cloud::Aws, Kind::Time) => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            (Cloud::Gcp, Kind::Time) => DataType::Timestamp(TimeUnit::Microsecond, None),
            (Cloud::Aws, Kind::Text) if c == Tags => DataType::Map(Arc::new(Field::new("key_value", DataType::Struct(key_value_fields()), false)), false),
            (Cloud::Gcp, Kind::Text) if c == Tags => DataType::List(Arc::new(Field::new("item", DataType::Struct(key_value_fields()), true))),
            (_, Kind::Text) => DataType::Utf8,
        }
    }
}

fn key_value_fields() -> arrow::datatypes::Fields {
    vec![Field::new("key", DataType::Utf8, false), Field::new("value", DataType::Utf8, true)].into()
}

/// The pairs of a flat JSON object of strings, in their order.
fn tag_pairs(tags: &str) -> Vec<(String, String)> {
    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(tags) {
        Ok(m) => m.into_iter().map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_string))).collect(),
        Err(_) => Vec::new(),
    }
}

/// Hours from midnight in Los Angeles to midnight UTC of the same date: 7 under US daylight time (second Sunday of
/// March to first Sunday of November, the rule since 2007), else 8.
fn pacific_offset_hours(d: NaiveDate) -> i64 {
    let nth_sunday = |month: u32, n: u32| {
        let first = NaiveDate::from_ymd_opt(d.year(), month, 1).expect("valid date");
        first + chrono::Duration::days(i64::from((7 - first.weekday().num_days_from_sunday()) % 7 + 7 * (n - 1)))
    };
    if d >= nth_sunday(3, 2) && d < nth_sunday(11, 1) { 7 } else { 8 }
}

/// A file of FOCUS rows being written.
pub struct Sink(Inner);

enum Inner {
    /// CSV, plain or gzip-compressed.
    Csv { w: csv::Writer<Box<dyn Write + Send>>, cols: Columns, buf: Vec<String>, dialect: Dialect },
    /// Parquet (Snappy), buffered per batch.
    Parquet {
        w: ArrowWriter<File>,
        cols: Columns,
        schema: SchemaRef,
        rows: Vec<Vec<Option<String>>>,
        nums: Vec<Vec<Option<f64>>>,
        times: Vec<Vec<Option<i64>>>,
        n: usize,
        dialect: Dialect,
    },
}

const PARQUET_BATCH: usize = 8192;

impl Inner {
    fn create(path: &Path, format: Format, cloud: Cloud, version: FocusVersion) -> Result<Inner, SimError> {
        let io = |e: std::io::Error| SimError::Io { path: path.display().to_string(), source: e };
        let cols = Columns::new(cloud, version);
        let dialect = Dialect { cloud, version };
        let file = File::create(path).map_err(io)?;
        match format {
            Format::Csv | Format::CsvGz => {
                let out: Box<dyn Write + Send> = if format == Format::CsvGz {
                    Box::new(flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::fast()))
                } else {
                    Box::new(BufWriter::with_capacity(1 << 16, file))
                };
                // OCI's reports end records with CRLF (Oracle's loader configuration, corpus/sources/oci.md §4).
                let terminator = if cloud == Cloud::Oci { csv::Terminator::CRLF } else { csv::Terminator::default() };
                let mut w = csv::WriterBuilder::new().terminator(terminator).from_writer(out);
                w.write_record(cols.names()).map_err(|e| SimError::Csv { path: path.display().to_string(), source: e })?;
                let n = cols.0.len();
                Ok(Inner::Csv { w, cols, buf: vec![String::new(); n], dialect })
            }
            Format::Parquet | Format::Native => {
                let fields: Vec<Field> = cols.0.iter().map(|c| Field::new(name(*c), dialect.parquet_type(kind(*c), *c), true)).collect();
                let schema: SchemaRef = Arc::new(Schema::new(fields));
                let props = WriterProperties::builder().set_compression(parquet::basic::Compression::SNAPPY).build();
                let w = ArrowWriter::try_new(file, schema.clone(), Some(props))
                    .map_err(|e| SimError::Parquet { path: path.display().to_string(), reason: e.to_string() })?;
                let n = cols.0.len();
                Ok(Inner::Parquet { w, cols, schema, rows: vec![Vec::new(); n], nums: vec![Vec::new(); n], times: vec![Vec::new(); n], n: 0, dialect })
            }
        }
    }

    fn write(&mut self, r: &Row<'_>, path: &Path) -> Result<(), SimError> {
        match self {
            Inner::Csv { w, cols, buf, dialect } => {
                for (i, c) in cols.0.iter().enumerate() {
                    let b = &mut buf[i];
                    b.clear();
                    match cell(*c, r) {
                        Cell::Text(s) if *c == Tags => dialect.tags_text(s, b),
                        Cell::Text(s) => b.push_str(s),
                        Cell::Num(x) => dialect.number_text(x, b),
                        Cell::Time(d) => dialect.time_text(*c, dialect.instant(*c, d), b),
                        Cell::Null => {}
                    }
                }
                w.write_record(buf.iter()).map_err(|e| SimError::Csv { path: path.display().to_string(), source: e })
            }
            Inner::Parquet { cols, rows, nums, times, n, dialect, .. } => {
                for (i, c) in cols.0.iter().enumerate() {
                    match (kind(*c), cell(*c, r)) {
                        (Kind::Text, Cell::Text(s)) => rows[i].push(Some(s.to_string())),
                        (Kind::Num, Cell::Num(x)) => nums[i].push(Some(x)),
                        (Kind::Time, Cell::Time(d)) => times[i].push(Some(dialect.instant(*c, d).and_utc().timestamp_micros())),
                        (Kind::Text, _) => rows[i].push(None),
                        (Kind::Num, _) => nums[i].push(None),
                        (Kind::Time, _) => times[i].push(None),
                    }
                }
                *n += 1;
                if *n >= PARQUET_BATCH {
                    self.flush(path)?;
                }
                Ok(())
            }
        }
    }

    fn flush(&mut self, path: &Path) -> Result<(), SimError> {
        let Inner::Parquet { w, cols, schema, rows, nums, times, n, dialect } = self else { return Ok(()) };
        *n = 0;
        let arrays: Vec<ArrayRef> = cols
            .0
            .iter()
            .zip(schema.fields())
            .enumerate()
            .map(|(i, (c, f))| -> Result<ArrayRef, arrow::error::ArrowError> {
                Ok(match kind(*c) {
                    Kind::Text if *c == Tags && matches!(dialect.cloud, Cloud::Aws | Cloud::Gcp) => tags_array(rows[i].drain(..), f.data_type())?,
                    Kind::Text => Arc::new(rows[i].drain(..).collect::<arrow::array::StringArray>()),
                    Kind::Num => {
                        let b: ArrayRef = Arc::new(nums[i].drain(..).collect::<arrow::array::Float64Array>());
                        arrow::compute::cast(&b, f.data_type())?
                    }
                    Kind::Time => {
                        let b: ArrayRef = Arc::new(times[i].drain(..).collect::<arrow::array::TimestampMicrosecondArray>());
                        arrow::compute::cast(&b, f.data_type())?
                    }
                })
            })
            .collect::<Result<_, _>>()
            .map_err(|e| SimError::Parquet { path: path.display().to_string(), reason: e.to_string() })?;
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| SimError::Parquet { path: path.display().to_string(), reason: e.to_string() })?;
        if batch.num_rows() > 0 {
            w.write(&batch).map_err(|e| SimError::Parquet { path: path.display().to_string(), reason: e.to_string() })?;
        }
        Ok(())
    }

    fn finish(mut self, path: &Path) -> Result<(), SimError> {
        self.flush(path)?;
        match self {
            Inner::Csv { w, .. } => {
                let inner = w.into_inner().map_err(|e| SimError::Io { path: path.display().to_string(), source: e.into_error() })?;
                finish_boxed(inner).map_err(|e| SimError::Io { path: path.display().to_string(), source: e })
            }
            Inner::Parquet { w, .. } => w.close().map(|_| ()).map_err(|e| SimError::Parquet { path: path.display().to_string(), reason: e.to_string() }),
        }
    }
}

impl Sink {
    /// Create `path` for rows of `cloud` in `version` columns.
    pub fn create(path: &Path, format: Format, cloud: Cloud, version: FocusVersion) -> Result<Sink, SimError> {
        Inner::create(path, format, cloud, version).map(Sink)
    }

    /// Append one row.
    pub fn write(&mut self, r: &Row<'_>, path: &Path) -> Result<(), SimError> {
        self.0.write(r, path)
    }

    /// Finish the file.
    pub fn finish(self, path: &Path) -> Result<(), SimError> {
        self.0.finish(path)
    }
}

/// Dropping a `GzEncoder` finishes the stream but swallows errors; flushing first surfaces them for the data,
/// and the trailer is written on drop.
fn finish_boxed(mut w: Box<dyn Write + Send>) -> std::io::Result<()> {
    w.flush()?;
    drop(w);
    Ok(())
}

/// `Tags` as a map (AWS) or a list of key-value records (Google).
fn tags_array(tags: impl Iterator<Item = Option<String>>, dt: &DataType) -> Result<ArrayRef, arrow::error::ArrowError> {
    use arrow::array::{ListBuilder, MapBuilder, StructBuilder};
    let pairs: Vec<Option<Vec<(String, String)>>> = tags.map(|t| t.map(|t| tag_pairs(&t))).collect();
    if matches!(dt, DataType::Map(..)) {
        let names = arrow::array::MapFieldNames { entry: "key_value".into(), key: "key".into(), value: "value".into() };
        let mut b = MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new());
        for p in pairs {
            for (k, v) in p.iter().flatten() {
                b.keys().append_value(k);
                b.values().append_value(v);
            }
            b.append(p.is_some())?;
        }
        return Ok(Arc::new(b.finish()));
    }
    let mut b = ListBuilder::new(StructBuilder::from_fields(key_value_fields(), 0));
    for p in pairs {
        for (k, v) in p.iter().flatten() {
            let s = b.values();
            s.field_builder::<StringBuilder>(0).expect("key").append_value(k);
            s.field_builder::<StringBuilder>(1).expect("value").append_value(v);
            s.append(true);
        }
        b.append(p.is_some());
    }
    Ok(Arc::new(b.finish()))
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Num,
    Time,
}

fn kind(c: Col) -> Kind {
    match c {
        BilledCost
        | ContractedCost
        | EffectiveCost
        | ListCost
        | PricingCurrencyEffectiveCost
        | ListUnitPrice
        | ContractedUnitPrice
        | PricingCurrencyListUnitPrice
        | PricingCurrencyContractedUnitPrice
        | ConsumedQuantity
        | PricingQuantity
        | CommitmentDiscountQuantity
        | XPricingBlockSize
        | UsageQuantity => Kind::Num,
        BillingPeriodStart | BillingPeriodEnd | ChargePeriodStart | ChargePeriodEnd => Kind::Time,
        _ => Kind::Text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> String {
        let mut s = String::new();
        format_number(x, &mut s);
        s
    }

    #[test]
    fn each_cloud_writes_its_own_forms() {
        let d = NaiveDate::from_ymd_opt(2024, 10, 1).unwrap();
        let text = |cloud, version, c| {
            let dialect = Dialect { cloud, version };
            let mut s = String::new();
            dialect.time_text(c, dialect.instant(c, d), &mut s);
            s
        };
        assert_eq!(text(Cloud::Azure, FocusVersion::V1_0, ChargePeriodStart), "2024-10-01T00:00Z");
        assert_eq!(text(Cloud::Azure, FocusVersion::V1_2, ChargePeriodStart), "2024-10-01T00:00:00Z");
        assert_eq!(text(Cloud::Aws, FocusVersion::V1_2, ChargePeriodStart), "2024-10-01T00:00:00.000Z");
        assert_eq!(text(Cloud::Gcp, FocusVersion::V1_2, ChargePeriodStart), "2024-10-01 00:00:00 UTC");
        assert_eq!(text(Cloud::Gcp, FocusVersion::V1_2, BillingPeriodStart), "2024-10-01 07:00:00 UTC");
        assert_eq!(text(Cloud::Oci, FocusVersion::V1_2, ChargePeriodStart), "2024-10-01T00:00Z");
        assert_eq!(text(Cloud::Oci, FocusVersion::V1_2, BillingPeriodStart), "2024-10-01T00:00:00.000Z");
        assert_eq!(text(Cloud::Oci, FocusVersion::V1_2, BillingPeriodEnd), "2024-09-30T23:59:59.999Z");
        assert_eq!(pacific_offset_hours(NaiveDate::from_ymd_opt(2024, 12, 1).unwrap()), 8);
        assert_eq!(pacific_offset_hours(NaiveDate::from_ymd_opt(2024, 3, 10).unwrap()), 7);
        assert_eq!(pacific_offset_hours(NaiveDate::from_ymd_opt(2024, 3, 9).unwrap()), 8);
        let mut s = String::new();
        Dialect { cloud: Cloud::Aws, version: FocusVersion::V1_2 }.number_text(0.000015, &mut s);
        assert_eq!(s, "1.5E-5");
        let mut s = String::new();
        Dialect { cloud: Cloud::Gcp, version: FocusVersion::V1_2 }.tags_text(r#"{"env":"prod"}"#, &mut s);
        assert_eq!(s, r#"[{"key":"env","value":"prod","x_inherited":false}]"#);
    }

    #[test]
    fn numbers_are_plain_decimals_with_ten_significant_digits() {
        assert_eq!(f(0.0), "0");
        assert_eq!(f(1.5), "1.5");
        assert_eq!(f(123456789012.0), "123456789012");
        assert_eq!(f(0.000123456789012), "0.000123456789");
        assert_eq!(f(2.0 / 3.0), "0.6666666667");
        assert_eq!(f(6.9e20), "690000000000000000000");
        assert!(!f(1e-12).contains('e'));
    }
}

//! FOCUS rows and the files they are written to: CSV, gzip-compressed CSV or Parquet, in FOCUS 1.2 or 1.0 columns.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
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
}

use Col::*;

/// FOCUS 1.0's columns, in the order of the FinOps Foundation's sample.
const V1_0: &[Col] = &[
    AvailabilityZone, BilledCost, BillingAccountId, BillingAccountName, BillingCurrency, BillingPeriodEnd,
    BillingPeriodStart, ChargeCategory, ChargeClass, ChargeDescription, ChargeFrequency, ChargePeriodEnd,
    ChargePeriodStart, CommitmentDiscountCategory, CommitmentDiscountId, CommitmentDiscountName,
    CommitmentDiscountStatus, CommitmentDiscountType, ConsumedQuantity, ConsumedUnit, ContractedCost,
    ContractedUnitPrice, EffectiveCost, InvoiceIssuerName, ListCost, ListUnitPrice, PricingCategory, PricingQuantity,
    PricingUnit, ProviderName, PublisherName, RegionId, RegionName, ResourceId, ResourceName, ResourceType,
    ServiceCategory, ServiceName, SkuId, SkuPriceId, SubAccountId, SubAccountName, Tags,
];

/// FOCUS 1.2's columns: 1.0's, 1.1's additions (capacity reservations, commitment quantity, subcategory, SKU meter and
/// price details) and 1.2's (account types, invoice id, pricing currency).
const V1_2: &[Col] = &[
    AvailabilityZone, BilledCost, BillingAccountId, BillingAccountName, BillingAccountType, BillingCurrency,
    BillingPeriodEnd, BillingPeriodStart, CapacityReservationId, CapacityReservationStatus, ChargeCategory,
    ChargeClass, ChargeDescription, ChargeFrequency, ChargePeriodEnd, ChargePeriodStart, CommitmentDiscountCategory,
    CommitmentDiscountId, CommitmentDiscountName, CommitmentDiscountQuantity, CommitmentDiscountStatus,
    CommitmentDiscountType, CommitmentDiscountUnit, ConsumedQuantity, ConsumedUnit, ContractedCost,
    ContractedUnitPrice, EffectiveCost, InvoiceId, InvoiceIssuerName, ListCost, ListUnitPrice, PricingCategory,
    PricingCurrency, PricingCurrencyContractedUnitPrice, PricingCurrencyEffectiveCost, PricingCurrencyListUnitPrice,
    PricingQuantity, PricingUnit, ProviderName, PublisherName, RegionId, RegionName, ResourceId, ResourceName,
    ResourceType, ServiceCategory, ServiceName, ServiceSubcategory, SkuId, SkuMeter, SkuPriceDetails, SkuPriceId,
    SubAccountId, SubAccountName, SubAccountType, Tags,
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
    }
}

/// The columns of a file: the version's FOCUS columns and the provider's `x_` extensions.
pub struct Columns(Vec<Col>);

impl Columns {
    /// Columns for a cloud's export in a FOCUS version.
    pub fn new(cloud: Cloud, version: FocusVersion) -> Columns {
        let mut cols = match version {
            FocusVersion::V1_0 => V1_0.to_vec(),
            FocusVersion::V1_2 => V1_2.to_vec(),
        };
        match cloud {
            Cloud::Azure => cols.extend([XSkuMeterId, XPricingBlockSize, XPricingUnitDescription]),
            Cloud::Aws => cols.push(XUsageType),
            Cloud::Gcp => {}
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
        ChargeCategory => Cell::Text("Usage"),
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
        AvailabilityZone | CapacityReservationId | CapacityReservationStatus | ChargeClass
        | CommitmentDiscountCategory | CommitmentDiscountId | CommitmentDiscountName | CommitmentDiscountQuantity
        | CommitmentDiscountStatus | CommitmentDiscountType | CommitmentDiscountUnit | SkuPriceDetails => Cell::Null,
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

fn timestamp(d: NaiveDate) -> String {
    format!("{}T00:00:00Z", d.format("%Y-%m-%d"))
}

/// A file of FOCUS rows being written.
pub struct Sink(Inner);

enum Inner {
    /// CSV, plain or gzip-compressed.
    Csv { w: csv::Writer<Box<dyn Write + Send>>, cols: Columns, buf: Vec<String> },
    /// Parquet (Snappy), buffered per batch.
    Parquet { w: ArrowWriter<File>, cols: Columns, schema: SchemaRef, rows: Vec<Vec<Option<String>>>, nums: Vec<Vec<Option<f64>>>, times: Vec<Vec<Option<i64>>>, n: usize },
}

const PARQUET_BATCH: usize = 8192;

impl Inner {
    fn create(path: &Path, format: Format, cloud: Cloud, version: FocusVersion) -> Result<Inner, SimError> {
        let io = |e: std::io::Error| SimError::Io { path: path.display().to_string(), source: e };
        let cols = Columns::new(cloud, version);
        let file = File::create(path).map_err(io)?;
        match format {
            Format::Csv | Format::CsvGz => {
                let out: Box<dyn Write + Send> = if format == Format::CsvGz {
                    Box::new(flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::fast()))
                } else {
                    Box::new(BufWriter::with_capacity(1 << 16, file))
                };
                let mut w = csv::Writer::from_writer(out);
                w.write_record(cols.names()).map_err(|e| SimError::Csv { path: path.display().to_string(), source: e })?;
                let n = cols.0.len();
                Ok(Inner::Csv { w, cols, buf: vec![String::new(); n] })
            }
            Format::Parquet => {
                let fields: Vec<Field> = cols
                    .0
                    .iter()
                    .map(|c| {
                        let dt = match kind(*c) {
                            Kind::Text => DataType::Utf8,
                            Kind::Num => DataType::Float64,
                            Kind::Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                        };
                        Field::new(name(*c), dt, true)
                    })
                    .collect();
                let schema: SchemaRef = Arc::new(Schema::new(fields));
                let props = WriterProperties::builder().set_compression(parquet::basic::Compression::SNAPPY).build();
                let w = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| SimError::Parquet { path: path.display().to_string(), reason: e.to_string() })?;
                let n = cols.0.len();
                Ok(Inner::Parquet { w, cols, schema, rows: vec![Vec::new(); n], nums: vec![Vec::new(); n], times: vec![Vec::new(); n], n: 0 })
            }
        }
    }

    fn write(&mut self, r: &Row<'_>, path: &Path) -> Result<(), SimError> {
        match self {
            Inner::Csv { w, cols, buf } => {
                for (i, c) in cols.0.iter().enumerate() {
                    let b = &mut buf[i];
                    b.clear();
                    match cell(*c, r) {
                        Cell::Text(s) => b.push_str(s),
                        Cell::Num(x) => format_number(x, b),
                        Cell::Time(d) => b.push_str(&timestamp(d)),
                        Cell::Null => {}
                    }
                }
                w.write_record(buf.iter()).map_err(|e| SimError::Csv { path: path.display().to_string(), source: e })
            }
            Inner::Parquet { cols, rows, nums, times, n, .. } => {
                for (i, c) in cols.0.iter().enumerate() {
                    match (kind(*c), cell(*c, r)) {
                        (Kind::Text, Cell::Text(s)) => rows[i].push(Some(s.to_string())),
                        (Kind::Num, Cell::Num(x)) => nums[i].push(Some(x)),
                        (Kind::Time, Cell::Time(d)) => times[i].push(Some(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_micros())),
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
        let Inner::Parquet { w, cols, schema, rows, nums, times, n } = self else { return Ok(()) };
        *n = 0;
        let arrays: Vec<ArrayRef> = cols
            .0
            .iter()
            .enumerate()
            .map(|(i, c)| -> ArrayRef {
                match kind(*c) {
                    Kind::Text => {
                        let mut b = StringBuilder::new();
                        for v in rows[i].drain(..) {
                            b.append_option(v);
                        }
                        Arc::new(b.finish())
                    }
                    Kind::Num => {
                        let mut b = Float64Builder::new();
                        for v in nums[i].drain(..) {
                            b.append_option(v);
                        }
                        Arc::new(b.finish())
                    }
                    Kind::Time => {
                        let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
                        for v in times[i].drain(..) {
                            b.append_option(v);
                        }
                        Arc::new(b.finish())
                    }
                }
            })
            .collect();
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

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Num,
    Time,
}

fn kind(c: Col) -> Kind {
    match c {
        BilledCost | ContractedCost | EffectiveCost | ListCost | PricingCurrencyEffectiveCost | ListUnitPrice
        | ContractedUnitPrice | PricingCurrencyListUnitPrice | PricingCurrencyContractedUnitPrice | ConsumedQuantity
        | PricingQuantity | CommitmentDiscountQuantity | XPricingBlockSize => Kind::Num,
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

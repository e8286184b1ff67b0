//! Meter keys: the columns of a usage row that decide which signal it feeds.

use arrow::array::{Array, AsArray};
use datafusion::prelude::SessionContext;

use crate::SignalsError;

/// The lake columns a meter key is made of, in [`MeterKey`] field order.
pub const KEY_COLUMNS: [&str; 13] = [
    "ProviderName",
    "ServiceName",
    "ServiceCategory",
    "SkuId",
    "SkuMeter",
    "x_SkuMeterId",
    "x_UsageType",
    "ChargeDescription",
    "ChargeCategory",
    "ConsumedUnit",
    "PricingUnit",
    "PublisherName",
    "ResourceType",
];

/// One distinct meter key of the lake. Fields follow [`KEY_COLUMNS`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MeterKey {
    /// `ProviderName` (or 1.3's `ServiceProviderName`).
    pub provider: Option<String>,
    /// `ServiceName`.
    pub service_name: Option<String>,
    /// `ServiceCategory`.
    pub service_category: Option<String>,
    /// `SkuId`.
    pub sku_id: Option<String>,
    /// `SkuMeter` (FOCUS 1.1+).
    pub sku_meter: Option<String>,
    /// Azure's `x_SkuMeterId`.
    pub meter_id: Option<String>,
    /// AWS's `x_UsageType`.
    pub usage_type: Option<String>,
    /// `ChargeDescription`.
    pub charge_description: Option<String>,
    /// `ChargeCategory`.
    pub charge_category: Option<String>,
    /// `ConsumedUnit`.
    pub consumed_unit: Option<String>,
    /// `PricingUnit`.
    pub pricing_unit: Option<String>,
    /// `PublisherName`.
    pub publisher_name: Option<String>,
    /// `ResourceType`.
    pub resource_type: Option<String>,
}

impl MeterKey {
    pub(crate) fn fields(&self) -> [&Option<String>; 13] {
        [
            &self.provider,
            &self.service_name,
            &self.service_category,
            &self.sku_id,
            &self.sku_meter,
            &self.meter_id,
            &self.usage_type,
            &self.charge_description,
            &self.charge_category,
            &self.consumed_unit,
            &self.pricing_unit,
            &self.publisher_name,
            &self.resource_type,
        ]
    }
}

/// Rows and cost behind one meter key.
#[derive(Debug, Clone)]
pub struct MeterStats {
    /// The key.
    pub key: MeterKey,
    /// Usage rows with this key.
    pub rows: u64,
    /// Their summed `BilledCost`.
    pub billed_cost: f64,
    /// Why the key maps nowhere (set by the series builder for unmapped keys).
    pub reason: String,
}

/// The key columns, quoted, as a SQL list.
pub(crate) fn key_list() -> String {
    KEY_COLUMNS.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")
}

/// Every distinct meter key in the lake, with its row count and billed cost, in key order.
pub async fn meter_keys(ctx: &SessionContext) -> Result<Vec<MeterStats>, SignalsError> {
    let sql = format!("SELECT {c}, count(*) AS n, sum(CAST(\"BilledCost\" AS DOUBLE)) AS cost FROM usage GROUP BY {c} ORDER BY {c}", c = key_list());
    let batches = ctx.sql(&sql).await?.collect().await?;
    let mut out = Vec::new();
    for b in batches {
        let text: Vec<_> = (0..KEY_COLUMNS.len()).map(|i| b.column(i).as_string::<i32>()).collect();
        let n = b.column(KEY_COLUMNS.len()).as_primitive::<arrow::datatypes::Int64Type>();
        let cost = b.column(KEY_COLUMNS.len() + 1).as_primitive::<arrow::datatypes::Float64Type>();
        for r in 0..b.num_rows() {
            let f = |i: usize| (!text[i].is_null(r)).then(|| text[i].value(r).to_string());
            out.push(MeterStats {
                key: MeterKey {
                    provider: f(0),
                    service_name: f(1),
                    service_category: f(2),
                    sku_id: f(3),
                    sku_meter: f(4),
                    meter_id: f(5),
                    usage_type: f(6),
                    charge_description: f(7),
                    charge_category: f(8),
                    consumed_unit: f(9),
                    pricing_unit: f(10),
                    publisher_name: f(11),
                    resource_type: f(12),
                },
                rows: n.value(r) as u64,
                billed_cost: if cost.is_null(r) { 0.0 } else { cost.value(r) },
                reason: String::new(),
            });
        }
    }
    Ok(out)
}

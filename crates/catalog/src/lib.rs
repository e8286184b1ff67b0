//! The meter catalog: which provider meters feed which canonical signal, and the factor to SI units.
//!
//! The catalog is a versioned data file (`catalog/meters.toml`), embedded at build time, so an analyst can read and
//! change it without Rust. Rules are matched in file order against a row's [`MeterKey`]; the factor comes from the
//! row's unit string, parsed by [`units`] with the provider's byte convention. A key whose unit does not fit its
//! signal's dimension maps to [`Lookup::UnitUnknown`], so it is reported rather than mis-scaled.
//!
//! How the series builder uses a [`Mapping`] (one row, quantity `q` from [`Mapping::quantity`]):
//! - counters: `value = q × factor` in the signal's SI unit, summed over the bucket;
//! - gauges (`storage.stored_bytes`): `q × factor` is in byte-hours, or, when [`Mapping::per_month`], in byte-months,
//!   to be multiplied by [`MonthBasis::hours`] first. The average over a bucket is the sum of byte-hours divided by
//!   the bucket's hours, i.e. for one row covering the bucket `avg_bytes = q × bytes_per_unit × month_hours / period_hours`;
//! - costs (`marketplace.publisher_cost`): `value = EffectiveCost`, tagged with the row's `PublisherName`.
//!
//! This crate depends on no query engine: the simulator uses it too.
#![deny(missing_docs)]

pub mod units;

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::{Regex, RegexBuilder};

use units::{Dimension, TimeBasis};

/// The embedded catalog file.
pub const EMBEDDED: &str = include_str!("../catalog/meters.toml");

/// A canonical signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalDef {
    /// Its name, e.g. `storage.stored_bytes`.
    pub name: &'static str,
    /// Its SI unit.
    pub unit: &'static str,
    /// What a bucket's value means.
    pub kind: Kind,
    /// One line of documentation.
    pub doc: &'static str,
}

/// How a signal aggregates over a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A level held over time (averaged over the bucket).
    Gauge,
    /// A quantity consumed (summed over the bucket).
    Counter,
    /// Money (summed), tagged with the publisher.
    Cost,
}

/// Every signal of DESIGN.md §4.
pub const SIGNALS: &[SignalDef] = &[
    SignalDef {
        name: "storage.stored_bytes",
        unit: "bytes",
        kind: Kind::Gauge,
        doc: "average bytes stored over the bucket (from GB-month, byte-hour and byte-second meters)",
    },
    SignalDef {
        name: "network.egress_bytes",
        unit: "bytes",
        kind: Kind::Counter,
        doc: "bytes transferred out to the internet or another region (ingress, same-region and to-CDN traffic excluded)",
    },
    SignalDef {
        name: "compute.vm_hours",
        unit: "hours",
        kind: Kind::Counter,
        doc: "instance hours (Google: vCPU hours; OCI: OCPU hours); GPU instances count in compute.gpu_hours instead",
    },
    SignalDef {
        name: "compute.gpu_hours",
        unit: "hours",
        kind: Kind::Counter,
        doc: "GPU hours (Google) or GPU-instance hours (AWS, Azure: GPUs per instance not applied)",
    },
    SignalDef { name: "ai.speech_seconds", unit: "seconds", kind: Kind::Counter, doc: "seconds of audio transcribed or translated" },
    SignalDef { name: "ai.translation_chars", unit: "characters", kind: Kind::Counter, doc: "characters translated" },
    SignalDef { name: "ai.face_transactions", unit: "transactions", kind: Kind::Counter, doc: "face detection / identification calls" },
    SignalDef { name: "ai.ocr_pages", unit: "pages", kind: Kind::Counter, doc: "pages read by OCR / document extraction" },
    SignalDef { name: "ai.search_queries", unit: "queries", kind: Kind::Counter, doc: "metered AI search queries" },
    SignalDef { name: "ai.llm_tokens", unit: "tokens", kind: Kind::Counter, doc: "language-model tokens (input and output)" },
    SignalDef { name: "marketplace.publisher_cost", unit: "currency", kind: Kind::Cost, doc: "marketplace spend (EffectiveCost), tagged with the publisher" },
];

/// The four providers the catalog knows, whatever the export calls them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Provider {
    /// Amazon Web Services.
    Aws,
    /// Microsoft Azure.
    Azure,
    /// Google Cloud.
    Gcp,
    /// Oracle Cloud Infrastructure.
    Oci,
}

impl Provider {
    /// All providers, in catalog order.
    pub const ALL: [Provider; 4] = [Provider::Aws, Provider::Azure, Provider::Gcp, Provider::Oci];

    /// Normalise a FOCUS `ProviderName` / `ServiceProviderName` ("AWS", "Amazon Web Services", "Microsoft",
    /// "Azure", "Google Cloud", "Oracle", ...). The one place provider spellings are interpreted.
    pub fn from_name(name: &str) -> Option<Provider> {
        let n = name.trim().to_ascii_lowercase();
        if n == "aws" || n.starts_with("amazon") {
            Some(Provider::Aws)
        } else if n.starts_with("microsoft") || n.contains("azure") {
            Some(Provider::Azure)
        } else if n.starts_with("google") || n == "gcp" {
            Some(Provider::Gcp)
        } else if n.starts_with("oracle") || n == "oci" {
            Some(Provider::Oci)
        } else {
            None
        }
    }

    /// The id used in the catalog file: `aws`, `azure`, `gcp` or `oci`.
    pub fn id(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Azure => "azure",
            Provider::Gcp => "gcp",
            Provider::Oci => "oci",
        }
    }

    fn from_id(id: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.id() == id)
    }
}

/// Normalise a FOCUS provider name to the catalog's provider id (`aws`, `azure`, `gcp`, `oci`).
pub fn provider_id(name: &str) -> Option<&'static str> {
    Provider::from_name(name).map(Provider::id)
}

/// The month a per-month quantity (GB-month) is a share of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonthBasis {
    /// The calendar month the charge falls in (28–31 days).
    Calendar,
    /// A fixed number of days, whatever the calendar says.
    Days(u32),
}

impl MonthBasis {
    /// Hours in the month, given the days of the charge's calendar month.
    pub fn hours(self, calendar_days: u32) -> f64 {
        match self {
            MonthBasis::Calendar => f64::from(calendar_days) * 24.0,
            MonthBasis::Days(d) => f64::from(d) * 24.0,
        }
    }
}

/// Which quantity column of a row feeds the signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantitySource {
    /// `ConsumedQuantity` in `ConsumedUnit`.
    Consumed,
    /// `PricingQuantity` in `PricingUnit` (used when the consumed unit is missing).
    Pricing,
    /// `EffectiveCost`.
    Cost,
}

/// The meter key of one FOCUS row. Any field may be missing.
#[derive(Debug, Clone, Copy, Default)]
pub struct MeterKey<'a> {
    /// `ProviderName` (FOCUS 1.0–1.2) or `ServiceProviderName` (1.3), as written.
    pub provider: Option<&'a str>,
    /// `ServiceName`.
    pub service_name: Option<&'a str>,
    /// `ServiceCategory`.
    pub service_category: Option<&'a str>,
    /// `SkuId`.
    pub sku_id: Option<&'a str>,
    /// `SkuMeter` (FOCUS 1.1+).
    pub sku_meter: Option<&'a str>,
    /// Azure `x_SkuMeterId`.
    pub meter_id: Option<&'a str>,
    /// AWS `x_UsageType`.
    pub usage_type: Option<&'a str>,
    /// `ChargeDescription`.
    pub charge_description: Option<&'a str>,
    /// `ChargeCategory`.
    pub charge_category: Option<&'a str>,
    /// `ConsumedUnit`.
    pub consumed_unit: Option<&'a str>,
    /// `PricingUnit`.
    pub pricing_unit: Option<&'a str>,
    /// `PublisherName`.
    pub publisher_name: Option<&'a str>,
    /// `ResourceType` (not matched by any rule yet; kept so keys stay complete).
    pub resource_type: Option<&'a str>,
}

/// What the catalog says about a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<'a> {
    /// The key feeds a signal.
    Signal(Mapping<'a>),
    /// A rule knows the meter and says it is not a signal.
    Ignored {
        /// The rule.
        rule_id: &'a str,
    },
    /// A rule matched but the unit string does not fit the signal (reported, not guessed).
    UnitUnknown {
        /// The rule.
        rule_id: &'a str,
        /// The unit string.
        unit: String,
    },
    /// No rule knows the meter.
    Unknown,
}

impl<'a> Lookup<'a> {
    /// The mapping, when the key feeds a signal.
    pub fn mapping(&self) -> Option<&Mapping<'a>> {
        match self {
            Lookup::Signal(m) => Some(m),
            _ => None,
        }
    }

    /// The mapping, by value, when the key feeds a signal.
    pub fn into_mapping(self) -> Option<Mapping<'a>> {
        match self {
            Lookup::Signal(m) => Some(m),
            _ => None,
        }
    }

    /// The rule that decided, if any did.
    pub fn rule_id(&self) -> Option<&'a str> {
        match self {
            Lookup::Signal(m) => Some(m.rule_id),
            Lookup::Ignored { rule_id } | Lookup::UnitUnknown { rule_id, .. } => Some(rule_id),
            Lookup::Unknown => None,
        }
    }
}

/// How a key feeds a signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping<'a> {
    /// The signal.
    pub signal: &'static str,
    /// The rule that matched.
    pub rule_id: &'a str,
    /// The quantity column to read.
    pub quantity: QuantitySource,
    /// Multiply the quantity by this to get the signal's unit (for gauges: unit-hours, or unit-months when
    /// `per_month`).
    pub factor: f64,
    /// The quantity is a share of a month (GB-month): multiply by [`Mapping::month`]'s hours to get byte-hours.
    pub per_month: bool,
    /// The month `per_month` quantities are a share of, per the provider (see `[month]` in the catalog file).
    pub month: MonthBasis,
    /// The signal is a gauge: `factor × quantity` (× month hours when `per_month`) is in unit-hours.
    pub gauge: bool,
    /// Tag the series with the row's `PublisherName`.
    pub tag_publisher: bool,
    /// The provider the key was read as.
    pub provider: Provider,
}

/// An error in a catalog file. Messages name the line (TOML errors) or the rule (by index and id).
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Not valid TOML (the message names line and column).
    #[error("catalog: {0}")]
    Parse(#[from] toml::de::Error),
    /// A top-level table or value is missing or has the wrong shape.
    #[error("catalog: {0}")]
    Shape(String),
    /// A rule is malformed: unknown or missing key, wrong type, bad regex, unknown signal or provider.
    #[error("catalog rule #{index} ({id}): {reason}")]
    Rule {
        /// 1-based position of the rule in the file.
        index: usize,
        /// The rule id, or `?` when it has none.
        id: String,
        /// What is wrong.
        reason: String,
    },
}

/// The key fields a rule can match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    ServiceName,
    ServiceCategory,
    SkuId,
    SkuMeter,
    MeterId,
    UsageType,
    ChargeDescription,
    ChargeCategory,
    ConsumedUnit,
    PublisherName,
}

const FIELDS: [(&str, Field); 10] = [
    ("service_name", Field::ServiceName),
    ("service_category", Field::ServiceCategory),
    ("sku_id", Field::SkuId),
    ("sku_meter", Field::SkuMeter),
    ("meter_id", Field::MeterId),
    ("usage_type", Field::UsageType),
    ("charge_description", Field::ChargeDescription),
    ("charge_category", Field::ChargeCategory),
    ("consumed_unit", Field::ConsumedUnit),
    ("publisher_name", Field::PublisherName),
];

impl Field {
    fn get<'a>(self, k: &MeterKey<'a>) -> Option<&'a str> {
        match self {
            Field::ServiceName => k.service_name,
            Field::ServiceCategory => k.service_category,
            Field::SkuId => k.sku_id,
            Field::SkuMeter => k.sku_meter,
            Field::MeterId => k.meter_id,
            Field::UsageType => k.usage_type,
            Field::ChargeDescription => k.charge_description,
            Field::ChargeCategory => k.charge_category,
            Field::ConsumedUnit => k.consumed_unit,
            Field::PublisherName => k.publisher_name,
        }
    }
}

struct Rule {
    id: String,
    provider: Provider,
    signal: Option<&'static SignalDef>,
    patterns: Vec<(Field, Regex)>,
    not: Vec<(Field, Regex)>,
    /// Exact meter IDs, lower-case.
    meter_ids: Option<BTreeSet<String>>,
    /// Distinct units per block, applied when the unit string states no block.
    block: f64,
    /// The unit to read the quantity in, when the provider's label is known to be wrong.
    unit: Option<String>,
}

impl Rule {
    fn matches(&self, key: &MeterKey<'_>) -> bool {
        self.patterns.iter().all(|(f, re)| f.get(key).is_some_and(|v| re.is_match(v)))
            && !self.not.iter().any(|(f, re)| f.get(key).is_some_and(|v| re.is_match(v)))
            && self.meter_ids.as_ref().is_none_or(|ids| key.meter_id.is_some_and(|m| ids.contains(&m.trim().to_ascii_lowercase())))
    }
}

/// A provider's conventions: bytes per "GB" and the month per-month quantities divide by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conventions {
    /// Bytes per "GB" in this provider's unit strings.
    pub bytes_per_gb: f64,
    /// The month a GB-month is a share of.
    pub month: MonthBasis,
}

/// One rule, as [`Catalog::rules`] lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo<'a> {
    /// The rule id.
    pub id: &'a str,
    /// Its provider.
    pub provider: Provider,
    /// Its signal, or `None` for `ignore`.
    pub signal: Option<&'static str>,
}

/// A parsed catalog.
pub struct Catalog {
    version: String,
    conventions: [Conventions; 4],
    rules: Vec<Rule>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog").field("version", &self.version).field("rules", &self.rules.len()).finish()
    }
}

impl FromStr for Catalog {
    type Err = CatalogError;

    /// Parse a catalog file (same as [`Catalog::parse`]).
    fn from_str(text: &str) -> Result<Catalog, CatalogError> {
        Catalog::parse(text)
    }
}

/// A unit column's value, unless it is empty or the bare word `NULL` some exports write.
fn nonempty(u: Option<&str>) -> Option<&str> {
    u.filter(|u| !u.trim().is_empty() && !u.eq_ignore_ascii_case("null"))
}

fn regex(p: &str) -> Result<Regex, String> {
    RegexBuilder::new(&format!("^(?:{p})$")).case_insensitive(true).build().map_err(|e| e.to_string())
}

fn parse_rule(t: &toml::Table, seen: &BTreeSet<String>) -> Result<Rule, String> {
    let str_of = |k: &str| -> Result<Option<&str>, String> {
        match t.get(k) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("{k} must be a string")),
        }
    };
    let id = str_of("id")?.ok_or("no id")?.to_string();
    if seen.contains(&id) {
        return Err("duplicate id".into());
    }
    let provider = str_of("provider")?.ok_or("no provider")?;
    let provider = Provider::from_id(provider).ok_or_else(|| format!("unknown provider {provider:?} (aws, azure, gcp, oci)"))?;
    let signal = match str_of("signal")?.ok_or("no signal")? {
        "ignore" => None,
        s => Some(SIGNALS.iter().find(|d| d.name == s).ok_or_else(|| format!("unknown signal {s:?}"))?),
    };
    let fields = |t: &toml::Table, what: &str| -> Result<Vec<(Field, Regex)>, String> {
        let mut out = Vec::new();
        for (name, f) in FIELDS {
            match t.get(name) {
                None => {}
                Some(toml::Value::String(p)) => out.push((f, regex(p).map_err(|e| format!("{what}{name}: {e}"))?)),
                Some(_) => return Err(format!("{what}{name} must be a string")),
            }
        }
        Ok(out)
    };
    let patterns = fields(t, "")?;
    let not = match t.get("not") {
        None => Vec::new(),
        Some(toml::Value::Table(n)) => {
            if let Some(k) = n.keys().find(|k| !FIELDS.iter().any(|(f, _)| f == k)) {
                return Err(format!("unknown key not.{k}"));
            }
            fields(n, "not.")?
        }
        Some(_) => return Err("not must be a table".into()),
    };
    let meter_ids = match t.get("meter_ids") {
        None => None,
        Some(toml::Value::Array(a)) => {
            Some(a.iter().map(|v| v.as_str().map(|s| s.trim().to_ascii_lowercase()).ok_or("meter_ids must be strings")).collect::<Result<BTreeSet<_>, _>>()?)
        }
        Some(_) => return Err("meter_ids must be an array".into()),
    };
    let block = match t.get("block") {
        None => 1.0,
        Some(toml::Value::Integer(i)) if *i > 0 => *i as f64,
        Some(toml::Value::Float(f)) if *f > 0.0 => *f,
        Some(_) => return Err("block must be a positive number".into()),
    };
    let unit = str_of("unit")?.map(str::to_string);
    const OTHER: [&str; 7] = ["id", "provider", "signal", "not", "meter_ids", "block", "unit"];
    if let Some(k) = t.keys().find(|k| !OTHER.contains(&k.as_str()) && !FIELDS.iter().any(|(f, _)| f == k)) {
        return Err(format!("unknown key {k}"));
    }
    if patterns.is_empty() && meter_ids.is_none() {
        return Err("matches every row of its provider: give at least one match field".into());
    }
    Ok(Rule { id, provider, signal, patterns, not, meter_ids, block, unit })
}

impl Catalog {
    /// The embedded catalog, parsed once. Panics only if the embedded file is broken, which a test guards.
    pub fn embedded() -> &'static Catalog {
        static CATALOG: LazyLock<Catalog> = LazyLock::new(|| Catalog::parse(EMBEDDED).expect("the embedded catalog is valid (a test guards it)"));
        &CATALOG
    }

    /// Parse a catalog file. Errors name the TOML line, or the rule by position and id.
    pub fn parse(text: &str) -> Result<Catalog, CatalogError> {
        let mut doc: toml::Table = toml::from_str(text)?;
        let shape = |m: &str| CatalogError::Shape(m.to_string());
        let version = match doc.remove("version") {
            Some(toml::Value::String(v)) if !v.is_empty() => v,
            _ => return Err(shape("version must be a non-empty string")),
        };
        let gb = match doc.remove("gb") {
            Some(toml::Value::Table(t)) => t,
            _ => return Err(shape("[gb] table missing")),
        };
        let month = match doc.remove("month") {
            Some(toml::Value::Table(t)) => t,
            _ => return Err(shape("[month] table missing")),
        };
        let mut conventions = [Conventions { bytes_per_gb: 0.0, month: MonthBasis::Calendar }; 4];
        for (i, p) in Provider::ALL.into_iter().enumerate() {
            conventions[i].bytes_per_gb = match gb.get(p.id()) {
                Some(toml::Value::Integer(n)) if *n == 1_000_000_000 || *n == 1 << 30 => *n as f64,
                _ => return Err(shape(&format!("[gb] {} must be 1000000000 or 1073741824", p.id()))),
            };
            conventions[i].month = match month.get(p.id()) {
                Some(toml::Value::String(s)) if s == "calendar" => MonthBasis::Calendar,
                Some(toml::Value::Integer(d)) if (28..=31).contains(d) => MonthBasis::Days(*d as u32),
                _ => return Err(shape(&format!("[month] {} must be \"calendar\" or a day count 28..=31", p.id()))),
            };
        }
        let raw = match doc.remove("rule") {
            Some(toml::Value::Array(a)) => a,
            _ => return Err(shape("no [[rule]] entries")),
        };
        if let Some(k) = doc.keys().next() {
            return Err(shape(&format!("unknown top-level key {k}")));
        }
        let mut rules = Vec::with_capacity(raw.len());
        let mut seen = BTreeSet::new();
        for (i, v) in raw.iter().enumerate() {
            let err = |reason: String| {
                let id = v.get("id").and_then(|v| v.as_str()).unwrap_or("?").to_string();
                CatalogError::Rule { index: i + 1, id, reason }
            };
            let t = v.as_table().ok_or_else(|| err("not a table".into()))?;
            let rule = parse_rule(t, &seen).map_err(err)?;
            seen.insert(rule.id.clone());
            rules.push(rule);
        }
        Ok(Catalog { version, conventions, rules })
    }

    /// The catalog file's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The canonical signals.
    pub fn signals(&self) -> &'static [SignalDef] {
        SIGNALS
    }

    /// A provider's byte and month conventions, as the file states them.
    pub fn conventions(&self, p: Provider) -> Conventions {
        self.conventions[p as usize]
    }

    /// Every rule, in match order.
    pub fn rules(&self) -> impl Iterator<Item = RuleInfo<'_>> {
        self.rules.iter().map(|r| RuleInfo { id: &r.id, provider: r.provider, signal: r.signal.map(|s| s.name) })
    }

    /// Map one meter key: the first rule of the key's provider that matches decides. Deterministic, never panics.
    ///
    /// ```
    /// use catalog::{Catalog, Lookup, MeterKey, MonthBasis, QuantitySource};
    /// let key = MeterKey { provider: Some("AWS"), usage_type: Some("EUW2-TimedStorage-ByteHrs"), consumed_unit: Some("GB-Mo"), ..Default::default() };
    /// match Catalog::embedded().lookup(&key) {
    ///     Lookup::Signal(m) => {
    ///         assert_eq!((m.signal, m.quantity, m.per_month, m.month), ("storage.stored_bytes", QuantitySource::Consumed, true, MonthBasis::Calendar));
    ///         // 1 GB-Mo over a 31-day month, for a one-day row: 2^30 bytes held on average.
    ///         let avg_bytes = 1.0 / 31.0 * m.factor * m.month.hours(31) / 24.0;
    ///         assert!((avg_bytes - 1073741824.0).abs() < 1e-3);
    ///     }
    ///     Lookup::Ignored { rule_id } => panic!("ignored by {rule_id}"),
    ///     Lookup::UnitUnknown { rule_id, unit } => panic!("{rule_id}: unit {unit}"),
    ///     Lookup::Unknown => panic!("unknown"),
    /// }
    /// ```
    pub fn lookup(&self, key: &MeterKey<'_>) -> Lookup<'_> {
        let Some(provider) = key.provider.and_then(Provider::from_name) else { return Lookup::Unknown };
        match self.rules.iter().filter(|r| r.provider == provider).find(|r| r.matches(key)) {
            None => Lookup::Unknown,
            Some(rule) => match rule.signal {
                None => Lookup::Ignored { rule_id: &rule.id },
                Some(signal) => self.mapping(rule, signal, key),
            },
        }
    }

    fn mapping<'a>(&'a self, rule: &'a Rule, signal: &'static SignalDef, key: &MeterKey<'_>) -> Lookup<'a> {
        let conv = self.conventions(rule.provider);
        let base = Mapping {
            signal: signal.name,
            rule_id: &rule.id,
            quantity: QuantitySource::Cost,
            factor: 1.0,
            per_month: false,
            month: conv.month,
            gauge: false,
            tag_publisher: false,
            provider: rule.provider,
        };
        if signal.kind == Kind::Cost {
            return Lookup::Signal(Mapping { tag_publisher: true, ..base });
        }
        let (quantity, unit) = match (nonempty(key.consumed_unit), nonempty(key.pricing_unit)) {
            (Some(u), _) => (QuantitySource::Consumed, u),
            (None, Some(u)) => (QuantitySource::Pricing, u),
            (None, None) => (QuantitySource::Consumed, ""),
        };
        // The rule's own unit wins where the provider's label is known to be wrong (OCI, meters.md §6).
        let unit = rule.unit.as_deref().unwrap_or(unit);
        let unknown = || Lookup::UnitUnknown { rule_id: &rule.id, unit: unit.to_string() };
        let Some(u) = units::parse(unit, conv.bytes_per_gb) else { return unknown() };
        let block = if units::block_given(unit) { 1.0 } else { rule.block };
        let f = u.factor * block;
        let m = Mapping { quantity, ..base };
        let hours_signal = signal.unit == "hours";
        Lookup::Signal(match (signal.unit, u.dimension) {
            ("bytes", Dimension::BytesOverTime(basis)) if signal.kind == Kind::Gauge => match basis {
                TimeBasis::Month => Mapping { factor: f, per_month: true, gauge: true, ..m },
                TimeBasis::Hour => Mapping { factor: f, gauge: true, ..m },
                TimeBasis::Second => Mapping { factor: f / 3600.0, gauge: true, ..m },
            },
            ("bytes", Dimension::Bytes) if signal.kind == Kind::Counter => Mapping { factor: f, ..m },
            ("seconds", Dimension::Seconds) => Mapping { factor: f, ..m },
            (_, Dimension::Seconds) if hours_signal => Mapping { factor: f / 3600.0, ..m },
            (_, Dimension::Count) if !hours_signal && signal.unit != "bytes" && signal.unit != "seconds" => Mapping { factor: f, ..m },
            _ => return unknown(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const GIB: f64 = 1073741824.0;

    fn key<'a>(provider: &'a str) -> MeterKey<'a> {
        MeterKey { provider: Some(provider), ..Default::default() }
    }

    fn signal(l: Lookup<'_>) -> Mapping<'_> {
        match l {
            Lookup::Signal(m) => m,
            other => panic!("{other:?}"),
        }
    }

    fn source(rel: &str) -> String {
        format!("{}/../../../shared/data/catalog-sources/{rel}", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn embedded_catalog_parses() {
        let c = Catalog::embedded();
        assert!(!c.version().is_empty());
        assert!(c.rules().count() > 60);
        assert_eq!(c.signals().len(), 11);
        let parsed: Catalog = EMBEDDED.parse().unwrap();
        assert_eq!(parsed.version(), c.version());
    }

    #[test]
    fn provider_names_normalise_in_one_place() {
        for (name, p) in [
            ("AWS", Provider::Aws),
            ("Amazon Web Services", Provider::Aws),
            ("Microsoft", Provider::Azure),
            ("Azure", Provider::Azure),
            ("Microsoft Azure", Provider::Azure),
            ("Google Cloud", Provider::Gcp),
            ("Google", Provider::Gcp),
            ("Oracle", Provider::Oci),
            ("Oracle Cloud Infrastructure", Provider::Oci),
            (" oci ", Provider::Oci),
        ] {
            assert_eq!(Provider::from_name(name), Some(p), "{name}");
        }
        assert_eq!(Provider::from_name("Red Hat Inc."), None);
        assert_eq!(Catalog::embedded().lookup(&MeterKey { usage_type: Some("DataTransfer-Out-Bytes"), ..Default::default() }), Lookup::Unknown);
    }

    /// Every signal has a rule for each provider that sells the service; the gaps are listed and asserted, so a
    /// new rule that fills one must also update this list.
    #[test]
    fn every_signal_has_a_rule_for_each_provider_that_sells_it() {
        let c = Catalog::embedded();
        // (provider, signal): no rule, and why.
        let gaps: &[(Provider, &str, &str)] = &[
            (Provider::Oci, "ai.search_queries", "OCI sells no per-query AI search (OpenSearch is billed per node-hour)"),
            (Provider::Oci, "ai.llm_tokens", "OCI Generative AI on-demand is billed per character transaction, not per token; no SKU in the sources"),
        ];
        for p in Provider::ALL {
            for s in SIGNALS {
                let has = c.rules().any(|r| r.provider == p && r.signal == Some(s.name));
                let gap = gaps.iter().any(|(gp, gs, _)| *gp == p && *gs == s.name);
                assert!(has != gap, "{} {}: rule present = {has}, listed as gap = {gap}", p.id(), s.name);
            }
        }
    }

    #[test]
    fn aws_usage_types_match_across_every_region_prefix() {
        let mut rdr = csv::Reader::from_path(source("aws/derived/usage-type-region-prefixes.csv")).unwrap();
        let c = Catalog::embedded();
        let mut n = 0;
        for r in rdr.records() {
            let prefix = r.unwrap()[0].to_string();
            for (suffix, sig, unit) in [
                ("TimedStorage-ByteHrs", "storage.stored_bytes", "GB-Mo"),
                ("TimedStorage-GlacierByteHrs", "storage.stored_bytes", "GB-Mo"),
                ("TimedStorage-SIA-ByteHrs", "storage.stored_bytes", "GB-Mo"),
                ("DataTransfer-Out-Bytes", "network.egress_bytes", "GB"),
                ("USE1-AWS-Out-Bytes", "network.egress_bytes", "GB"),
                ("BoxUsage:m5.large", "compute.vm_hours", "Hrs"),
                ("BoxUsage:p4d.24xlarge", "compute.gpu_hours", "Hrs"),
                ("SpotUsage:g5.xlarge", "compute.gpu_hours", "Hrs"),
                ("EBS:VolumeUsage.gp3", "storage.stored_bytes", "GB-Mo"),
            ] {
                let ut = format!("{prefix}-{suffix}");
                let k = MeterKey { usage_type: Some(&ut), consumed_unit: Some(unit), ..key("AWS") };
                assert_eq!(signal(c.lookup(&k)).signal, sig, "{ut}");
            }
            for suffix in [
                "DataTransfer-In-Bytes",
                "DataTransfer-Regional-Bytes",
                "DataTransfer-xAZ-Out-Bytes",
                "USE1-AWS-In-Bytes",
                "CloudFront-Out-Bytes",
                "C3DataTransfer-Out-Bytes",
                "EarlyDelete-ByteHrs",
            ] {
                let ut = format!("{prefix}-{suffix}");
                let k = MeterKey { usage_type: Some(&ut), consumed_unit: Some("GB"), ..key("AWS") };
                assert!(matches!(c.lookup(&k), Lookup::Ignored { .. }), "{ut}");
            }
            n += 1;
        }
        assert!(n > 30, "{n} prefixes");
        // us-east-1 has no prefix [s3ug]; some services use the full region code [cur].
        let k = MeterKey { usage_type: Some("TimedStorage-ByteHrs"), consumed_unit: Some("GB-Mo"), ..key("Amazon Web Services") };
        let m = signal(c.lookup(&k));
        assert_eq!((m.factor, m.per_month, m.gauge, m.month), (GIB, true, true, MonthBasis::Calendar));
        let k = MeterKey { usage_type: Some("ca-central-1-DataTransfer-Out-Bytes"), consumed_unit: Some("GB"), ..key("AWS") };
        assert_eq!(signal(c.lookup(&k)).signal, "network.egress_bytes");
        // Look-alikes are not storage or egress.
        for ut in ["USE1-Requests-Tier1", "USE1-DataTransfer-Out-Bytes-Foo", "USE1-TimedStorage"] {
            let k = MeterKey { usage_type: Some(ut), consumed_unit: Some("Requests"), ..key("AWS") };
            assert_eq!(c.lookup(&k), Lookup::Unknown, "{ut}");
        }
    }

    /// GB is 2^30 for every provider (meters.md §2), GiB always; AWS byte-hours and Google byte-seconds are exact.
    #[test]
    fn gb_versus_gib_per_provider() {
        let c = Catalog::embedded();
        for p in Provider::ALL {
            assert_eq!(c.conventions(p).bytes_per_gb, GIB, "{}", p.id());
        }
        let cases: &[(MeterKey, &str, f64)] = &[
            (MeterKey { usage_type: Some("USE1-DataTransfer-Out-Bytes"), consumed_unit: Some("GB"), ..key("AWS") }, "network.egress_bytes", GIB),
            (MeterKey { usage_type: Some("EU-TimedStorage-ByteHrs"), consumed_unit: Some("GB-Mo"), ..key("AWS") }, "storage.stored_bytes", GIB),
            (
                MeterKey { charge_description: Some("Rtn Preference: MGN - Standard Data Transfer Out"), consumed_unit: Some("GB"), ..key("Microsoft") },
                "network.egress_bytes",
                GIB,
            ),
            (
                MeterKey { charge_description: Some("Tables - LRS Data Stored"), consumed_unit: Some("GB/Month"), ..key("Microsoft") },
                "storage.stored_bytes",
                GIB,
            ),
            (MeterKey { charge_description: Some("Some Data Stored"), consumed_unit: Some("1 GiB/Month"), ..key("Microsoft") }, "storage.stored_bytes", GIB),
            (
                MeterKey { sku_meter: Some("Network Internet Egress from EMEA to Americas"), consumed_unit: Some("bytes"), ..key("Google Cloud") },
                "network.egress_bytes",
                1.0,
            ),
            (
                MeterKey { sku_meter: Some("Network Internet Egress from EMEA to Americas"), consumed_unit: Some("gibibyte"), ..key("Google Cloud") },
                "network.egress_bytes",
                GIB,
            ),
            (
                MeterKey { sku_meter: Some("Standard Storage US Multi-region"), consumed_unit: Some("byte-seconds"), ..key("Google Cloud") },
                "storage.stored_bytes",
                1.0 / 3600.0,
            ),
            (MeterKey { sku_id: Some("B91628"), consumed_unit: Some("GB Months"), ..key("Oracle") }, "storage.stored_bytes", GIB),
            (MeterKey { sku_id: Some("B90455"), consumed_unit: Some("TB"), ..key("Oracle") }, "storage.stored_bytes", GIB * 1024.0),
            (MeterKey { sku_id: Some("B88327"), consumed_unit: Some("GB Months"), ..key("Oracle") }, "network.egress_bytes", GIB),
        ];
        for (k, sig, factor) in cases {
            match c.lookup(k) {
                Lookup::Signal(m) => {
                    assert_eq!(m.signal, *sig, "{k:?}");
                    assert!((m.factor - factor).abs() <= 1e-12 * factor, "{k:?}: {} vs {factor}", m.factor);
                }
                other => panic!("{k:?}: {other:?}"),
            }
        }
    }

    /// Google's billing-export fixture rows [T ccf]: SKU description and usage unit.
    #[test]
    fn google_fixture_rows() {
        let c = Catalog::embedded();
        let mut rdr = csv::Reader::from_path(source("gcp/cloud-carbon-footprint/gcp_input.test.csv")).unwrap();
        let mut got = Vec::new();
        for r in rdr.records() {
            let r = r.unwrap();
            let k = MeterKey { service_name: Some(&r[0]), sku_meter: Some(&r[2]), consumed_unit: Some(&r[3]), ..key("Google Cloud") };
            got.push(match c.lookup(&k) {
                Lookup::Signal(m) => format!("{} x{}", m.signal, m.factor),
                other => format!("{other:?}"),
            });
        }
        assert_eq!(
            got,
            [
                format!("compute.vm_hours x{}", 1.0 / 3600.0),
                format!("storage.stored_bytes x{}", 1.0 / 3600.0),
                "network.egress_bytes x1".to_string(),
                format!("storage.stored_bytes x{}", 1.0 / 3600.0),
                "Unknown".to_string(),
                "Ignored { rule_id: \"gcp.ingress\" }".to_string(),
            ]
        );
    }

    /// Every SKU of the real OCI cost report [R oci], with its skuUnitDescription as the FOCUS unit.
    #[test]
    fn oci_cost_report_skus() {
        let c = Catalog::embedded();
        let mut rdr = csv::Reader::from_path(source("oci/derived/oci-cost-report-skus.csv")).unwrap();
        let mut got = BTreeMap::new();
        for r in rdr.records() {
            let r = r.unwrap();
            let k = MeterKey { service_name: Some(&r[0]), sku_id: Some(&r[1]), charge_description: Some(&r[2]), consumed_unit: Some(&r[4]), ..key("Oracle") };
            let v = match c.lookup(&k) {
                Lookup::Signal(m) => format!("{} x{} month={}", m.signal, m.factor, m.per_month),
                Lookup::Ignored { .. } => "ignore".to_string(),
                other => format!("{other:?}"),
            };
            got.insert(r[2].to_string(), v);
        }
        let want = [
            ("Block Volume - Storage", format!("storage.stored_bytes x{GIB} month=true")),
            ("Block Volume - Performance Units", "ignore".to_string()),
            ("Container Image Storage", format!("storage.stored_bytes x{GIB} month=true")),
            ("Standard - E4", "compute.vm_hours x1 month=false".to_string()),
            ("Standard - E4 - Memory", "ignore".to_string()),
            ("Oracle Autonomous Transaction Processing - Exadata Storage", format!("storage.stored_bytes x{} month=true", GIB * 1024.0)),
            ("Object Storage - Storage", format!("storage.stored_bytes x{GIB} month=true")),
            ("MySQL Database Service - Storage", format!("storage.stored_bytes x{GIB} month=true")),
            ("Outbound Data Transfer Zone 1", format!("network.egress_bytes x{GIB} month=false")),
        ];
        for (d, v) in want {
            assert_eq!(got.remove(d).as_deref(), Some(v.as_str()), "{d}");
        }
        // APEX, HeatWave nodes, Streaming and Monitoring: not known to the catalog. (Streaming - Storage, unit
        // "Gigabytes Per Hour", is bytes held but its unit reads as a rate; left unmapped and reported.)
        assert!(got.values().all(|v| v == "Unknown"), "{got:?}");
    }

    #[test]
    fn month_basis_per_provider() {
        let c = Catalog::embedded();
        assert_eq!(c.conventions(Provider::Aws).month, MonthBasis::Calendar);
        assert_eq!(c.conventions(Provider::Azure).month, MonthBasis::Days(31));
        // The FOCUS sample's MySQL row: 3.225806 GB/Month on one September day is 100 GB held (meters.md §4.1).
        let k = MeterKey {
            charge_description: Some("Azure Database for MySQL Single Server General Purpose - Storage - Data Stored - US East"),
            consumed_unit: Some("GB/Month"),
            ..key("Microsoft")
        };
        let m = signal(c.lookup(&k));
        let avg_gb = 3.225806451612901 * m.factor * m.month.hours(30) / 24.0 / GIB;
        assert!((avg_gb - 100.0).abs() < 1e-9, "{avg_gb}");
        assert_eq!(MonthBasis::Calendar.hours(28), 672.0);
    }

    #[test]
    fn azure_keys_on_meter_ids_and_block_sizes() {
        let c = Catalog::embedded();
        // GUIDs in any case; FOCUS writes the distinct unit ("Hours", "Units") while the quantity counts blocks.
        let cases: &[(&str, &str, &str, f64)] = &[
            ("3bd267f0-01d5-4348-ba67-70e2473f0c27", "1 Hour", "ai.speech_seconds", 3600.0),
            ("3BD267F0-01D5-4348-BA67-70E2473F0C27", "Hours", "ai.speech_seconds", 3600.0),
            ("8555280b-a4b1-46fc-9678-b69953eb6b75", "1M", "ai.translation_chars", 1e6),
            ("8555280b-a4b1-46fc-9678-b69953eb6b75", "Characters", "ai.translation_chars", 1e6),
            ("ecff4b9d-5d93-456c-a0d0-16439bf99e65", "Units", "ai.face_transactions", 1e3),
            ("cd926b81-ccc0-5185-bb72-b2c301d4a3ea", "1K", "ai.ocr_pages", 1e3),
        ];
        for (id, unit, sig, factor) in cases {
            let k = MeterKey { meter_id: Some(id), consumed_unit: Some(unit), ..key("Microsoft") };
            let m = signal(c.lookup(&k));
            assert_eq!((m.signal, m.factor), (*sig, *factor), "{id} {unit}");
        }
        let k = MeterKey { meter_id: Some("0f2d27dc-6004-4e1c-84c3-1b229913e5c1"), consumed_unit: Some("1K"), ..key("Microsoft") };
        assert!(matches!(c.lookup(&k), Lookup::Ignored { .. }), "face storage is not calls");
        // Names: translation, but not speech synthesis characters.
        let k = MeterKey { service_name: Some("Foundry Tools"), sku_meter: Some("S1 Characters"), consumed_unit: Some("Characters"), ..key("Microsoft") };
        assert_eq!(signal(c.lookup(&k)).factor, 1e6);
        let k = MeterKey {
            service_name: Some("Foundry Tools"),
            sku_meter: Some("S1 Neural Text To Speech Characters"),
            consumed_unit: Some("1M"),
            ..key("Microsoft")
        };
        assert_eq!(c.lookup(&k), Lookup::Unknown);
        // A unit that does not fit the signal is reported, never guessed.
        let k = MeterKey { service_name: Some("Foundry Tools"), sku_meter: Some("S1 Characters"), consumed_unit: Some("1 Hour"), ..key("Microsoft") };
        assert!(matches!(c.lookup(&k), Lookup::UnitUnknown { .. }));
        // Token meters by name only when the unit carries the block.
        let k = MeterKey { sku_meter: Some("gpt 4o 0513 Input global Tokens"), consumed_unit: Some("1K"), ..key("Microsoft") };
        assert_eq!(signal(c.lookup(&k)).factor, 1e3);
        let k = MeterKey { sku_meter: Some("gpt 4o 0513 Input global Tokens"), consumed_unit: Some("Tokens"), ..key("Microsoft") };
        assert_eq!(c.lookup(&k), Lookup::Unknown);
    }

    /// The catalog agrees with the Azure price list: every AI meter GUID it lists maps to its signal with the
    /// price list's block size, whether the unit is written "1K" or as the distinct unit.
    #[test]
    fn azure_meter_ids_agree_with_the_price_list() {
        let c = Catalog::embedded();
        let mut checked = 0;
        for f in ["foundry_tools.json", "foundry_models.json", "azure_cognitive_search.json"] {
            let text = std::fs::read_to_string(source(&format!("azure/retail-prices-westeurope/{f}"))).unwrap();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            let items = v.as_array().or_else(|| v.get("Items").and_then(|i| i.as_array())).unwrap();
            for it in items {
                let (id, uom) = (it["meterId"].as_str().unwrap(), it["unitOfMeasure"].as_str().unwrap());
                let k = MeterKey { meter_id: Some(id), consumed_unit: Some(uom), ..key("Microsoft") };
                let Lookup::Signal(m) = c.lookup(&k) else { continue };
                if !m.rule_id.ends_with("meter-ids") && !m.rule_id.contains("meter-ids.") {
                    continue;
                }
                let block = match uom {
                    "1K" => 1e3,
                    "1M" => 1e6,
                    "1 Hour" => 3600.0,
                    other => panic!("{id} {other}"),
                };
                assert_eq!(m.factor, block, "{id} {uom}");
                // Same answer with the distinct unit FOCUS writes.
                let distinct = if uom == "1 Hour" { "Hours" } else { "Units" };
                let k = MeterKey { meter_id: Some(id), consumed_unit: Some(distinct), ..key("Microsoft") };
                assert_eq!(signal(c.lookup(&k)).factor, block, "{id} {distinct}");
                checked += 1;
            }
        }
        assert!(checked > 1000, "{checked}");
    }

    #[test]
    fn marketplace_is_cost_tagged_and_first_party_publishers_are_not_marketplace() {
        let c = Catalog::embedded();
        for (p, vendor, first) in [
            ("AWS", "Red Hat Inc.", "Amazon Web Services EMEA SARL"),
            ("Microsoft", "Citrix", "Microsoft"),
            ("Google Cloud", "Bitnami", "Google Cloud"),
            ("Oracle", "Some ISV", "Oracle"),
        ] {
            let k = MeterKey { publisher_name: Some(vendor), consumed_unit: Some("Hours"), ..key(p) };
            let m = signal(c.lookup(&k));
            assert_eq!((m.signal, m.quantity, m.tag_publisher), ("marketplace.publisher_cost", QuantitySource::Cost, true), "{p}");
            let k = MeterKey { publisher_name: Some(first), consumed_unit: Some("Requests"), ..key(p) };
            assert_eq!(c.lookup(&k), Lookup::Unknown, "{p} {first}");
        }
    }

    #[test]
    fn broken_catalogs_are_refused_with_the_line_or_rule_named() {
        let head = "version = \"x\"\n[gb]\naws = 1073741824\nazure = 1073741824\ngcp = 1073741824\noci = 1073741824\n[month]\naws = \"calendar\"\nazure = 31\ngcp = \"calendar\"\noci = \"calendar\"\n";
        let ok = format!("{head}[[rule]]\nid = \"r0\"\nprovider = \"aws\"\nsignal = \"ignore\"\nusage_type = 'x'\n");
        Catalog::parse(&ok).unwrap();
        let err = |rule: &str| {
            Catalog::parse(&format!("{head}{ok_rule}{rule}", ok_rule = "[[rule]]\nid = \"r0\"\nprovider = \"aws\"\nsignal = \"ignore\"\nusage_type = 'x'\n"))
                .unwrap_err()
                .to_string()
        };
        assert!(
            err("[[rule]]\nid = \"r1\"\nprovider = \"aws\"\nsignal = \"storage.stored_byte\"\nusage_type = 'x'\n").contains("rule #2 (r1): unknown signal")
        );
        assert!(err("[[rule]]\nid = \"r2\"\nprovider = \"aws\"\nsignal = \"ignore\"\nusage_type = '('\n").contains("rule #2 (r2): usage_type"));
        assert!(err("[[rule]]\nid = \"r3\"\nprovider = \"ibm\"\nsignal = \"ignore\"\nusage_type = 'x'\n").contains("(r3): unknown provider"));
        assert!(err("[[rule]]\nid = \"r4\"\nprovider = \"aws\"\nsignal = \"ignore\"\nusage_typ = 'x'\n").contains("(r4): unknown key usage_typ"));
        assert!(err("[[rule]]\nid = \"r0\"\nprovider = \"aws\"\nsignal = \"ignore\"\nusage_type = 'x'\n").contains("(r0): duplicate id"));
        assert!(err("[[rule]]\nid = \"r5\"\nprovider = \"aws\"\nsignal = \"ignore\"\n").contains("(r5): matches every row"));
        assert!(err("[[rule]]\nid = \"r6\"\nprovider = \"aws\"\nsignal = \"ignore\"\nusage_type = 'x'\nblock = 0\n").contains("(r6): block"));
        assert!(
            err("[[rule]]\nid = \"r7\"\nprovider = \"aws\"\nsignal = \"ignore\"\nusage_type = 'x'\n[rule.not]\nfoo = 'y'\n")
                .contains("(r7): unknown key not.foo")
        );
        let bad_toml = Catalog::parse("version = \"x\"\n[gb\n").unwrap_err().to_string();
        assert!(bad_toml.contains("line 2"), "{bad_toml}");
        let bad_gb = Catalog::parse(&head.replace("azure = 1073741824", "azure = 1000")).unwrap_err().to_string();
        assert!(bad_gb.contains("[gb] azure"), "{bad_gb}");
    }

    proptest::proptest! {
        #[test]
        fn lookup_never_panics_and_is_deterministic(
            p in proptest::sample::select(vec!["AWS", "Microsoft", "Google Cloud", "Oracle", "x"]),
            a in proptest::option::of("\\PC{0,40}"),
            b in proptest::option::of("\\PC{0,40}"),
            u in proptest::option::of(proptest::prop_oneof!["\\PC{0,12}", "[0-9]{0,4}[ KM]?(GB|GiB|Hour|Hours|GB-Mo|GB/Month|Units|Characters|tokens|byte-seconds)?"]),
        ) {
            let c = Catalog::embedded();
            let k = MeterKey {
                provider: Some(p), usage_type: a.as_deref(), sku_meter: a.as_deref(), charge_description: b.as_deref(),
                service_name: b.as_deref(), meter_id: a.as_deref(), publisher_name: b.as_deref(), sku_id: a.as_deref(),
                consumed_unit: u.as_deref(), pricing_unit: u.as_deref(), ..Default::default()
            };
            let first = c.lookup(&k);
            proptest::prop_assert_eq!(&first, &c.lookup(&k));
            if let Lookup::Signal(m) = first {
                proptest::prop_assert!(m.factor.is_finite() && m.factor > 0.0);
            }
        }
    }
}

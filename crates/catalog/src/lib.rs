//! The meter catalog: which provider meters feed which canonical signal, and the factor to SI units.
//!
//! The catalog is a versioned data file (`catalog/meters.toml`), embedded at build time, so an analyst can read and
//! change it without Rust. Rules are matched in file order against a row's meter key; the factor comes from the
//! row's unit string, parsed by [`units`] with the provider's byte convention. A key whose unit does not fit its
//! signal's dimension maps nowhere, so it is reported as unmapped rather than mis-scaled.
#![deny(missing_docs)]

pub mod units;

use std::sync::LazyLock;

use regex::{Regex, RegexBuilder};
use serde::Deserialize;

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
    SignalDef { name: "storage.stored_bytes", unit: "bytes", kind: Kind::Gauge, doc: "average bytes stored over the bucket" },
    SignalDef { name: "network.egress_bytes", unit: "bytes", kind: Kind::Counter, doc: "bytes transferred out to the internet or another region" },
    SignalDef { name: "compute.vm_hours", unit: "hours", kind: Kind::Counter, doc: "instance (or vCPU/OCPU) hours" },
    SignalDef { name: "compute.gpu_hours", unit: "hours", kind: Kind::Counter, doc: "GPU instance or GPU hours" },
    SignalDef { name: "ai.speech_seconds", unit: "seconds", kind: Kind::Counter, doc: "seconds of audio transcribed" },
    SignalDef { name: "ai.translation_chars", unit: "characters", kind: Kind::Counter, doc: "characters translated" },
    SignalDef { name: "ai.face_transactions", unit: "transactions", kind: Kind::Counter, doc: "face detection / identification calls" },
    SignalDef { name: "ai.ocr_pages", unit: "pages", kind: Kind::Counter, doc: "pages read by OCR" },
    SignalDef { name: "ai.search_queries", unit: "queries", kind: Kind::Counter, doc: "AI search queries" },
    SignalDef { name: "ai.llm_tokens", unit: "tokens", kind: Kind::Counter, doc: "language-model tokens" },
    SignalDef { name: "marketplace.publisher_cost", unit: "currency", kind: Kind::Cost, doc: "marketplace spend, tagged with the publisher" },
];

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
    /// `ProviderName` / `ServiceProviderName`, as written.
    pub provider: Option<&'a str>,
    /// `ServiceName`.
    pub service_name: Option<&'a str>,
    /// `ServiceCategory`.
    pub service_category: Option<&'a str>,
    /// `SkuId`.
    pub sku_id: Option<&'a str>,
    /// `SkuMeter`.
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
    /// `ResourceType`.
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

/// How a key feeds a signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping<'a> {
    /// The signal.
    pub signal: &'static str,
    /// The rule that matched.
    pub rule_id: &'a str,
    /// The quantity column to read.
    pub quantity: QuantitySource,
    /// Multiply the quantity by this to get the signal's unit (for gauges: unit-hours per period hour, see below).
    pub factor: f64,
    /// The quantity is a share of a month (GB-month): multiply by the hours in the month to get byte-hours.
    pub per_month: bool,
    /// The signal is a gauge: `factor × quantity` (× month hours when `per_month`) is in unit-hours.
    pub gauge: bool,
    /// Tag the series with the row's publisher.
    pub tag_publisher: bool,
}

/// An error in a catalog file.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Not valid TOML or not the catalog's shape.
    #[error("catalog: {0}")]
    Parse(#[from] toml::de::Error),
    /// A rule names a signal that does not exist.
    #[error("catalog rule {rule}: unknown signal {signal:?}")]
    UnknownSignal {
        /// The rule id.
        rule: String,
        /// The name given.
        signal: String,
    },
    /// A rule's pattern is not a valid regex.
    #[error("catalog rule {rule}: field {field}: {reason}")]
    Pattern {
        /// The rule id.
        rule: String,
        /// The field.
        field: &'static str,
        /// The regex error.
        reason: String,
    },
    /// A rule names a provider with no byte convention.
    #[error("catalog rule {rule}: provider {provider:?} has no [gb] entry")]
    Provider {
        /// The rule id.
        rule: String,
        /// The provider.
        provider: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: String,
    gb: std::collections::BTreeMap<String, f64>,
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    provider: String,
    signal: String,
    service_name: Option<String>,
    service_category: Option<String>,
    sku_id: Option<String>,
    sku_meter: Option<String>,
    meter_id: Option<String>,
    usage_type: Option<String>,
    charge_description: Option<String>,
    charge_category: Option<String>,
    consumed_unit: Option<String>,
    publisher_name: Option<String>,
    publisher_not: Option<String>,
}

struct Rule {
    id: String,
    provider: String,
    signal: Option<&'static SignalDef>,
    gb: f64,
    /// (field index into the key, pattern).
    patterns: Vec<(usize, Regex)>,
    publisher_not: Option<Regex>,
}

/// A parsed catalog.
pub struct Catalog {
    version: String,
    rules: Vec<Rule>,
}

/// Normalise a FOCUS provider name to the catalog's provider ids (`aws`, `azure`, `gcp`, `oci`).
pub fn provider_id(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase();
    if n.contains("amazon") || n == "aws" {
        Some("aws")
    } else if n.contains("microsoft") || n.contains("azure") {
        Some("azure")
    } else if n.contains("google") || n == "gcp" {
        Some("gcp")
    } else if n.contains("oracle") || n == "oci" {
        Some("oci")
    } else {
        None
    }
}

const FIELDS: [&str; 8] = ["service_name", "service_category", "sku_id", "sku_meter", "meter_id", "usage_type", "charge_description", "charge_category"];

fn field<'a>(k: &MeterKey<'a>, i: usize) -> Option<&'a str> {
    match i {
        0 => k.service_name,
        1 => k.service_category,
        2 => k.sku_id,
        3 => k.sku_meter,
        4 => k.meter_id,
        5 => k.usage_type,
        6 => k.charge_description,
        7 => k.charge_category,
        8 => k.consumed_unit,
        _ => k.publisher_name,
    }
}

impl Catalog {
    /// The embedded catalog, parsed once.
    pub fn embedded() -> &'static Catalog {
        static CATALOG: LazyLock<Catalog> = LazyLock::new(|| Catalog::parse(EMBEDDED).expect("the embedded catalog is valid (a test guards it)"));
        &CATALOG
    }

    /// Parse a catalog file.
    pub fn parse(text: &str) -> Result<Catalog, CatalogError> {
        let file: File = toml::from_str(text)?;
        let mut rules = Vec::with_capacity(file.rule.len());
        for r in file.rule {
            let pat = |field: &'static str, p: &str| {
                RegexBuilder::new(&format!("^(?:{p})$"))
                    .case_insensitive(true)
                    .build()
                    .map_err(|e| CatalogError::Pattern { rule: r.id.clone(), field, reason: e.to_string() })
            };
            let mut patterns = Vec::new();
            let given = [&r.service_name, &r.service_category, &r.sku_id, &r.sku_meter, &r.meter_id, &r.usage_type, &r.charge_description, &r.charge_category, &r.consumed_unit, &r.publisher_name];
            let names = [FIELDS.as_slice(), &["consumed_unit", "publisher_name"]].concat();
            for (i, g) in given.iter().enumerate() {
                if let Some(p) = g {
                    patterns.push((i, pat(names[i], p)?));
                }
            }
            let signal = if r.signal == "ignore" {
                None
            } else {
                Some(SIGNALS.iter().find(|s| s.name == r.signal).ok_or_else(|| CatalogError::UnknownSignal { rule: r.id.clone(), signal: r.signal.clone() })?)
            };
            let gb = *file.gb.get(&r.provider).ok_or_else(|| CatalogError::Provider { rule: r.id.clone(), provider: r.provider.clone() })?;
            let publisher_not = r.publisher_not.as_deref().map(|p| pat("publisher_not", p)).transpose()?;
            rules.push(Rule { id: r.id, provider: r.provider, signal, gb, patterns, publisher_not });
        }
        Ok(Catalog { version: file.version, rules })
    }

    /// The catalog file's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The canonical signals.
    pub fn signals(&self) -> &'static [SignalDef] {
        SIGNALS
    }

    /// Map one meter key.
    pub fn lookup(&self, key: &MeterKey<'_>) -> Lookup<'_> {
        let Some(provider) = key.provider.and_then(provider_id) else { return Lookup::Unknown };
        for rule in self.rules.iter().filter(|r| r.provider == provider) {
            let hit = rule.patterns.iter().all(|(i, re)| field(key, *i).is_some_and(|v| re.is_match(v)))
                && rule.publisher_not.as_ref().is_none_or(|re| !key.publisher_name.is_some_and(|p| re.is_match(p)));
            if !hit {
                continue;
            }
            let Some(signal) = rule.signal else { return Lookup::Ignored { rule_id: &rule.id } };
            return self.mapping(rule, signal, key);
        }
        Lookup::Unknown
    }

    fn mapping<'a>(&'a self, rule: &'a Rule, signal: &'static SignalDef, key: &MeterKey<'_>) -> Lookup<'a> {
        let base = Mapping { signal: signal.name, rule_id: &rule.id, quantity: QuantitySource::Cost, factor: 1.0, per_month: false, gauge: false, tag_publisher: false };
        if signal.kind == Kind::Cost {
            return Lookup::Signal(Mapping { tag_publisher: true, ..base });
        }
        let (quantity, unit) = match (key.consumed_unit, key.pricing_unit) {
            (Some(u), _) if !u.is_empty() => (QuantitySource::Consumed, u),
            (_, Some(u)) => (QuantitySource::Pricing, u),
            _ => (QuantitySource::Consumed, ""),
        };
        let unknown = || Lookup::UnitUnknown { rule_id: &rule.id, unit: unit.to_string() };
        let Some(u) = units::parse(unit, rule.gb) else { return unknown() };
        let m = Mapping { quantity, ..base };
        let hours_signal = signal.unit == "hours";
        Lookup::Signal(match (signal.unit, u.dimension) {
            ("bytes", Dimension::BytesOverTime(basis)) if signal.kind == Kind::Gauge => match basis {
                TimeBasis::Month => Mapping { factor: u.factor, per_month: true, gauge: true, ..m },
                TimeBasis::Hour => Mapping { factor: u.factor, gauge: true, ..m },
                TimeBasis::Second => Mapping { factor: u.factor / 3600.0, gauge: true, ..m },
            },
            // OCI bills egress in a unit it labels "GB Months" while meaning GiB transferred (meters.md §6).
            ("bytes", Dimension::Bytes | Dimension::BytesOverTime(TimeBasis::Month)) if signal.kind == Kind::Counter => Mapping { factor: u.factor, ..m },
            ("seconds", Dimension::Seconds) => Mapping { factor: u.factor, ..m },
            (_, Dimension::Seconds) if hours_signal => Mapping { factor: u.factor / 3600.0, ..m },
            (_, Dimension::Count) if !hours_signal && signal.unit != "bytes" && signal.unit != "seconds" => Mapping { factor: u.factor, ..m },
            _ => return unknown(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<'a>(provider: &'a str) -> MeterKey<'a> {
        MeterKey { provider: Some(provider), ..Default::default() }
    }

    fn signal(l: Lookup<'_>) -> Mapping<'_> {
        match l {
            Lookup::Signal(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn embedded_catalog_parses() {
        let c = Catalog::embedded();
        assert!(!c.version().is_empty());
        assert!(c.rules.len() > 40);
    }

    #[test]
    fn every_signal_has_a_rule_for_each_provider_that_sells_it() {
        let c = Catalog::embedded();
        for s in SIGNALS {
            for p in ["aws", "azure"] {
                assert!(c.rules.iter().any(|r| r.provider == p && r.signal.is_some_and(|x| x.name == s.name)), "{p} {}", s.name);
            }
        }
        // Google and OCI: the signals meters.md could source (its §5–§6 list the gaps).
        for (p, sigs) in [
            ("gcp", &["storage.stored_bytes", "network.egress_bytes", "compute.vm_hours", "compute.gpu_hours", "ai.speech_seconds", "ai.translation_chars", "marketplace.publisher_cost"][..]),
            ("oci", &["storage.stored_bytes", "network.egress_bytes", "compute.vm_hours"][..]),
        ] {
            for s in sigs {
                assert!(c.rules.iter().any(|r| r.provider == p && r.signal.is_some_and(|x| x.name == *s)), "{p} {s}");
            }
        }
    }

    #[test]
    fn aws_usage_types_match_across_every_region_prefix() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/catalog-sources/aws/derived/usage-type-region-prefixes.csv");
        let mut rdr = csv::Reader::from_path(path).unwrap();
        let c = Catalog::embedded();
        let mut n = 0;
        for r in rdr.records() {
            let prefix = r.unwrap()[0].to_string();
            for (suffix, sig, unit) in [("TimedStorage-ByteHrs", "storage.stored_bytes", "GB-Mo"), ("DataTransfer-Out-Bytes", "network.egress_bytes", "GB"), ("BoxUsage:m5.large", "compute.vm_hours", "Hrs")] {
                let ut = format!("{prefix}-{suffix}");
                let k = MeterKey { usage_type: Some(&ut), consumed_unit: Some(unit), ..key("AWS") };
                assert_eq!(signal(c.lookup(&k)).signal, sig, "{ut}");
            }
            let k = MeterKey { usage_type: Some(&format!("{prefix}-DataTransfer-In-Bytes")), consumed_unit: Some("GB"), ..key("AWS") };
            assert!(matches!(c.lookup(&k), Lookup::Ignored { .. }));
            n += 1;
        }
        assert!(n > 30);
        // us-east-1 has no prefix.
        let k = MeterKey { usage_type: Some("TimedStorage-ByteHrs"), consumed_unit: Some("GB-Mo"), ..key("Amazon Web Services") };
        let m = signal(c.lookup(&k));
        assert_eq!((m.factor, m.per_month, m.gauge), (1073741824.0, true, true));
        let k = MeterKey { usage_type: Some("USE1-EarlyDelete-ByteHrs"), consumed_unit: Some("GB-Mo"), ..key("AWS") };
        assert!(matches!(c.lookup(&k), Lookup::Ignored { .. }));
    }

    #[test]
    fn azure_keys_on_meter_ids_and_block_sizes() {
        let c = Catalog::embedded();
        let k = MeterKey { meter_id: Some("3bd267f0-01d5-4348-ba67-70e2473f0c27"), consumed_unit: Some("1 Hour"), ..key("Microsoft") };
        let m = signal(c.lookup(&k));
        assert_eq!((m.signal, m.factor), ("ai.speech_seconds", 3600.0));
        let k = MeterKey { meter_id: Some("ECFF4B9D-5D93-456C-A0D0-16439BF99E65"), consumed_unit: Some("1K"), ..key("Microsoft") };
        assert_eq!(signal(c.lookup(&k)).factor, 1000.0);
        let k = MeterKey { sku_meter: Some("S1 Characters"), consumed_unit: Some("1M"), ..key("Microsoft") };
        assert_eq!(signal(c.lookup(&k)).factor, 1e6);
        // A unit that does not fit the signal is reported, never guessed.
        let k = MeterKey { sku_meter: Some("S1 Characters"), consumed_unit: Some("1 Hour"), ..key("Microsoft") };
        assert!(matches!(c.lookup(&k), Lookup::UnitUnknown { .. }));
    }

    #[test]
    fn marketplace_is_cost_tagged_and_first_party_publishers_are_not_marketplace() {
        let c = Catalog::embedded();
        let k = MeterKey { publisher_name: Some("Red Hat Inc."), consumed_unit: Some("Hrs"), ..key("AWS") };
        let m = signal(c.lookup(&k));
        assert_eq!((m.signal, m.quantity, m.tag_publisher), ("marketplace.publisher_cost", QuantitySource::Cost, true));
        let k = MeterKey { publisher_name: Some("Amazon Web Services, Inc."), consumed_unit: Some("Requests"), ..key("AWS") };
        assert_eq!(c.lookup(&k), Lookup::Unknown);
    }

    #[test]
    fn broken_catalogs_are_refused_with_the_rule_named() {
        let bad = "version = \"x\"\n[gb]\naws = 1\n[[rule]]\nid = \"r1\"\nprovider = \"aws\"\nsignal = \"storage.stored_byte\"\n";
        assert!(Catalog::parse(bad).err().unwrap().to_string().contains("r1: unknown signal"));
        let bad = "version = \"x\"\n[gb]\naws = 1\n[[rule]]\nid = \"r2\"\nprovider = \"aws\"\nsignal = \"ignore\"\nusage_type = \"(\"\n";
        assert!(Catalog::parse(bad).err().unwrap().to_string().contains("r2: field usage_type"));
    }

    proptest::proptest! {
        #[test]
        fn lookup_never_panics_and_is_deterministic(p in "\\PC{0,12}", a in proptest::option::of("\\PC{0,30}"), u in proptest::option::of("\\PC{0,12}")) {
            let c = Catalog::embedded();
            let k = MeterKey { provider: Some(&p), usage_type: a.as_deref(), sku_meter: a.as_deref(), charge_description: a.as_deref(), consumed_unit: u.as_deref(), ..Default::default() };
            proptest::prop_assert_eq!(c.lookup(&k), c.lookup(&k));
        }
    }
}

//! Unit strings to SI factors: block sizes ("10K", "1M", "1 Hour", "100 Hours") and unit words ("GB-Mo",
//! "GB/Month", "byte-seconds", "Characters", "OCPU Hours").
//!
//! Written by hand: the strings are the providers' own (see `PricingUnits.csv`), no crate parses them, and the
//! byte count behind "GB" is a per-provider convention passed in by the caller.

/// What a unit measures, after its block size is applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dimension {
    /// Bytes transferred or counted once.
    Bytes,
    /// Bytes held over time: the factor gives byte-months (per month) or byte-seconds.
    BytesOverTime(TimeBasis),
    /// Seconds.
    Seconds,
    /// A plain count (characters, pages, transactions, tokens, queries, requests).
    Count,
}

/// The time basis of a stored-bytes unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBasis {
    /// GB-month: a share of a month.
    Month,
    /// Byte-seconds.
    Second,
    /// Byte-hours.
    Hour,
}

/// A parsed unit: multiply a quantity by `factor` to get `dimension`'s base unit (bytes, seconds or 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    /// What it measures.
    pub dimension: Dimension,
    /// Multiplier to the base unit.
    pub factor: f64,
}

/// Whether a unit string states its own block size ("1 Hour", "10K", "1 GB/Month"), as Azure's `UnitOfMeasure`
/// does. Azure FOCUS exports write only the distinct unit ("Units", "Hours") while the quantity counts blocks
/// (meters.md §4.0), so the catalog's rule supplies the block in that case.
pub fn block_given(raw: &str) -> bool {
    raw.trim_start().starts_with(|c: char| c.is_ascii_digit())
}

/// Parse a unit string. `gb` is the provider's bytes per "GB" (10^9 or 2^30); "GiB" is always 2^30.
pub fn parse(raw: &str, gb: f64) -> Option<Unit> {
    let s = raw.trim();
    // Leading block size: "10K", "1M", "100", "1 ", "1000 Hours".
    let digits: String = s.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let mut block = if digits.is_empty() { 1.0 } else { digits.parse::<f64>().ok()? };
    let mut rest = s[digits.len()..].trim_start();
    if !digits.is_empty() {
        for (suffix, mult) in [("K", 1e3), ("M", 1e6), ("B", 1e9)] {
            if let Some(r) = rest.strip_prefix(suffix)
                && (r.is_empty() || r.starts_with([' ', '/']))
            {
                block *= mult;
                rest = r.trim_start();
                break;
            }
        }
    }
    let word = rest.to_ascii_lowercase().replace(['_'], " ").replace(" / ", "/").replace("(s)", "s");
    let word = word.trim();
    let binary = 1073741824.0;
    let scale = |prefix: &str| -> Option<f64> {
        let (base, gb_bytes) = if prefix.ends_with("ib") {
            (1024.0, binary)
        } else if gb == binary {
            (1024.0, gb)
        } else {
            (1000.0, gb)
        };
        Some(match prefix.trim_end_matches("ib").trim_end_matches('b') {
            "" => return Some(1.0),
            "k" => gb_bytes / base / base,
            "m" => gb_bytes / base,
            "g" => gb_bytes,
            "t" => gb_bytes * base,
            "p" => gb_bytes * base * base,
            _ => return None,
        })
    };
    // Stored bytes over a month: "GB-Mo", "GB/Month", "GB Months", "GiB Months", "gibibyte month", "TB Months".
    let month = ["-mo", "-month", "-months", "/month", " month", " months", "-mo(s)", " per month", ".mo"];
    for m in month {
        if let Some(p) = word.strip_suffix(m) {
            let p = p.trim().replace("gibibyte", "gib").replace("gigabyte", "gb").replace("terabyte", "tb");
            if let Some(f) = byte_prefix(&p).and_then(&scale) {
                return Some(Unit { dimension: Dimension::BytesOverTime(TimeBasis::Month), factor: block * f });
            }
        }
    }
    if let Some(p) = word.strip_suffix("-seconds").or_else(|| word.strip_suffix(" seconds")).or_else(|| word.strip_suffix("-second"))
        && let Some(f) = byte_prefix(p.trim()).and_then(&scale)
    {
        return Some(Unit { dimension: Dimension::BytesOverTime(TimeBasis::Second), factor: block * f });
    }
    if let Some(p) = word.strip_suffix("-hours").or_else(|| word.strip_suffix("-hrs")).or_else(|| word.strip_suffix("hrs"))
        && let Some(f) = byte_prefix(p.trim()).and_then(&scale)
    {
        return Some(Unit { dimension: Dimension::BytesOverTime(TimeBasis::Hour), factor: block * f });
    }
    if let Some(f) = byte_prefix(word).and_then(scale) {
        return Some(Unit { dimension: Dimension::Bytes, factor: block * f });
    }
    // Rates ("10K/Hour", "1 /Day") are not quantities any signal sums.
    if word.contains('/') {
        return None;
    }
    let time = [
        ("second", 1.0),
        ("seconds", 1.0),
        ("sec", 1.0),
        ("secs", 1.0),
        ("minute", 60.0),
        ("minutes", 60.0),
        ("min", 60.0),
        ("mins", 60.0),
        ("hour", 3600.0),
        ("hours", 3600.0),
        ("hrs", 3600.0),
        ("hr", 3600.0),
        ("h", 3600.0),
    ];
    // "OCPU Hours", "OCPU Per Hour", "Instance Hours", "LCU-Hours": a resource-time, counted in time.
    let last = word.rsplit([' ', '-', '/']).next().unwrap_or("");
    if let Some((_, f)) = time.iter().find(|(w, _)| *w == last) {
        return Some(Unit { dimension: Dimension::Seconds, factor: block * f });
    }
    let counts = [
        "",
        "unit",
        "units",
        "count",
        "counts",
        "request",
        "requests",
        "character",
        "characters",
        "chars",
        "page",
        "pages",
        "image",
        "images",
        "transaction",
        "transactions",
        "query",
        "queries",
        "token",
        "tokens",
        "call",
        "calls",
        "faces",
        "operations",
        "messages",
        "events",
        "predictions",
    ];
    if counts.contains(&last) {
        return Some(Unit { dimension: Dimension::Count, factor: block });
    }
    None
}

/// The size prefix of a bytes word ("gb", "gib", "tb", "bytes", "byte") or None when it is not bytes.
fn byte_prefix(w: &str) -> Option<&str> {
    match w {
        "byte" | "bytes" | "b" => Some(""),
        "kb" | "mb" | "gb" | "tb" | "pb" | "kib" | "mib" | "gib" | "tib" | "pib" => Some(w),
        "gigabyte" | "gigabytes" => Some("gb"),
        "gibibyte" | "gibibytes" => Some("gib"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const GIB: f64 = 1073741824.0;

    #[test]
    fn real_unit_strings() {
        let u = |s| parse(s, GIB).unwrap_or_else(|| panic!("{s}"));
        assert_eq!(u("GB-Mo"), Unit { dimension: Dimension::BytesOverTime(TimeBasis::Month), factor: GIB });
        assert_eq!(u("GB/Month").factor, GIB);
        assert_eq!(u("1 GB/Month").factor, GIB);
        assert_eq!(u("GB Months").dimension, Dimension::BytesOverTime(TimeBasis::Month));
        assert_eq!(u("TB Months").factor, GIB * 1024.0);
        assert_eq!(u("byte-seconds"), Unit { dimension: Dimension::BytesOverTime(TimeBasis::Second), factor: 1.0 });
        assert_eq!(u("GB"), Unit { dimension: Dimension::Bytes, factor: GIB });
        assert_eq!(u("1 Hour"), Unit { dimension: Dimension::Seconds, factor: 3600.0 });
        assert_eq!(u("Hrs").factor, 3600.0);
        assert_eq!(u("OCPU Hours").factor, 3600.0);
        assert_eq!(u("LCU-Hours").factor, 3600.0);
        assert_eq!(u("10K"), Unit { dimension: Dimension::Count, factor: 1e4 });
        assert_eq!(u("1M").factor, 1e6);
        assert_eq!(u("Characters").factor, 1.0);
        assert_eq!(u("1K tokens").factor, 1e3);
        assert_eq!(u("Requests").dimension, Dimension::Count);
        assert_eq!(u("Seconds").factor, 1.0);
        assert!(parse("Furlongs", GIB).is_none());
    }

    #[test]
    fn decimal_gigabytes_when_the_provider_says_so() {
        assert_eq!(parse("GB", 1e9).unwrap().factor, 1e9);
        assert_eq!(parse("TB", 1e9).unwrap().factor, 1e12);
        assert_eq!(parse("GiB", 1e9).unwrap().factor, GIB);
    }

    /// Every block size in Azure's PricingUnits.csv parses to the table's own PricingBlockSize.
    #[test]
    fn azure_pricing_units_block_sizes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/catalog-sources/azure/finops-toolkit/PricingUnits.csv");
        let mut rdr = csv::Reader::from_path(path).unwrap();
        let (mut checked, mut unknown) = (0, Vec::new());
        for r in rdr.records() {
            let r = r.unwrap();
            let (uom, block) = (&r[0], r[2].parse::<f64>().unwrap());
            match parse(uom, GIB) {
                Some(u) => {
                    let base = match u.dimension {
                        Dimension::Seconds => {
                            let l = uom.to_ascii_lowercase();
                            if l.contains("hour") || l.contains("hr") {
                                3600.0
                            } else if l.contains("min") {
                                60.0
                            } else {
                                1.0
                            }
                        }
                        Dimension::Bytes | Dimension::BytesOverTime(_) => {
                            let l = uom.to_ascii_lowercase();
                            if l.contains("tb") || l.contains("tib") {
                                GIB * 1024.0
                            } else if l.contains("mb") {
                                GIB / 1024.0
                            } else if l.contains("gb") || l.contains("gib") {
                                GIB
                            } else {
                                u.factor / block
                            }
                        }
                        Dimension::Count => 1.0,
                    };
                    assert!((u.factor / base - block).abs() < 1e-6 * block, "{uom}: parsed {} vs block {block}", u.factor / base);
                    checked += 1;
                }
                None => unknown.push(uom.to_string()),
            }
        }
        // Units like "1 /Day", "1 Day", "1 IP Address/Day" are not usage dimensions any signal needs.
        assert!(checked >= 200, "only {checked} parsed; unknown: {unknown:?}");
    }
}

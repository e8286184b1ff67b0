//! Series arithmetic on a small lake: GB-month gauges become average bytes, counters sum, and a monthly charge is
//! spread evenly over the days it covers.

use arrow::array::AsArray;
use signals::{Granularity, Mapped, MeterKey, MeterMapper, MeterMapping, Quantity};

struct TestMapper;

impl MeterMapper for TestMapper {
    fn map(&self, key: &MeterKey) -> Mapped {
        match key.consumed_unit.as_deref() {
            Some("GB-Mo") => Mapped::Signal(MeterMapping {
                signal: "storage.stored_bytes".into(),
                quantity: Quantity::Consumed,
                factor: 1e9,
                per_month: true,
                month_days: None,
                gauge: true,
                tag_publisher: false,
            }),
            Some("GB") => Mapped::Signal(MeterMapping {
                signal: "network.egress_bytes".into(),
                quantity: Quantity::Consumed,
                factor: 1e9,
                per_month: false,
                month_days: None,
                gauge: false,
                tag_publisher: false,
            }),
            _ => Mapped::Unknown("test".into()),
        }
    }
}

const HEAD: &str = "BillingAccountId,SubAccountId,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,BillingCurrency,BilledCost,EffectiveCost,ProviderName,ServiceName,ConsumedQuantity,ConsumedUnit\n";

fn row(acct: &str, start: &str, end: &str, qty: f64, unit: &str) -> String {
    format!("{acct},{acct}-sub,2025-01-01T00:00:00Z,2025-02-01T00:00:00Z,{start},{end},Usage,USD,1,1,AWS,S3,{qty},{unit}\n")
}

#[tokio::test]
async fn gauges_counters_and_spread() {
    let tmp = tempfile::tempdir().unwrap();
    let mut body = HEAD.to_string();
    // 1 TB held all day on Jan 1 and Jan 2: GB-months = 1000 * 24 / 744.
    for d in ["01", "02"] {
        let next = if d == "01" { "02" } else { "03" };
        body += &row("a", &format!("2025-01-{d}T00:00:00Z"), &format!("2025-01-{next}T00:00:00Z"), 1000.0 * 24.0 / 744.0, "GB-Mo");
    }
    // 2 TB held all month, billed as one monthly row.
    body += &row("b", "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z", 2000.0, "GB-Mo");
    // 10 GB out on Jan 1, and one unmapped meter.
    body += &row("a", "2025-01-01T05:00:00Z", "2025-01-01T06:00:00Z", 10.0, "GB");
    body += &row("a", "2025-01-01T05:00:00Z", "2025-01-01T06:00:00Z", 3.0, "Requests");
    std::fs::write(tmp.path().join("f.csv"), body).unwrap();

    let mut lake = lake::Lake::open(tmp.path().join("lake")).await.unwrap();
    let found = lake::discover(&[tmp.path().join("f.csv")]);
    lake.ingest(&found.deliveries, &Default::default(), &|_| {}).await.unwrap();
    let ctx = signals::session(&lake.live_paths("usage")).unwrap();
    let (batches, unmapped) = signals::build_series(&ctx, &TestMapper, Granularity::Day).await.unwrap();

    assert_eq!(unmapped.len(), 1);
    assert_eq!(unmapped[0].key.consumed_unit.as_deref(), Some("Requests"));
    let mut got = Vec::new();
    for b in &batches {
        for r in 0..b.num_rows() {
            got.push((
                b.column(0).as_string::<i32>().value(r).to_string(),
                b.column(2).as_string::<i32>().value(r).to_string(),
                b.column(4).as_primitive::<arrow::datatypes::TimestampMicrosecondType>().value(r) / 86_400_000_000,
                b.column(5).as_primitive::<arrow::datatypes::Float64Type>().value(r),
            ));
        }
    }
    let jan1 = 20089; // days since the epoch
    let close = |a: f64, b: f64| (a - b).abs() <= b.abs() * 1e-9;
    let find = |acct: &str, sig: &str, day: i64| got.iter().find(|g| g.0 == acct && g.1 == sig && g.2 == day).map(|g| g.3);
    assert!(close(find("a", "storage.stored_bytes", jan1).unwrap(), 1e12), "{got:?}");
    assert!(close(find("a", "storage.stored_bytes", jan1 + 1).unwrap(), 1e12));
    assert!(close(find("a", "network.egress_bytes", jan1).unwrap(), 1e10));
    // The monthly row is 2 TB on every day of January.
    assert_eq!(got.iter().filter(|g| g.0 == "b").count(), 31);
    for d in 0..31 {
        assert!(close(find("b", "storage.stored_bytes", jan1 + d).unwrap(), 2e12), "day {d}: {got:?}");
    }
}

struct Azure31;

impl MeterMapper for Azure31 {
    fn map(&self, _: &MeterKey) -> Mapped {
        Mapped::Signal(MeterMapping {
            signal: "storage.stored_bytes".into(),
            quantity: Quantity::Consumed,
            factor: 1e9,
            per_month: true,
            month_days: Some(31),
            gauge: true,
            tag_publisher: false,
        })
    }
}

/// Azure prorates GB-months over 31 days even in September (the FOCUS sample's MySQL row: 100 GB → 100/31 a day):
/// the stored bytes come back to the lake's quantity precision.
#[tokio::test]
async fn a_fixed_31_day_month_gives_the_stored_bytes_back_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let body = format!("{HEAD}{}", row("az", "2024-09-10T00:00:00Z", "2024-09-11T00:00:00Z", 100.0 / 31.0, "GB/Month"));
    std::fs::write(tmp.path().join("f.csv"), body).unwrap();
    let mut lake = lake::Lake::open(tmp.path().join("lake")).await.unwrap();
    let found = lake::discover(&[tmp.path().join("f.csv")]);
    lake.ingest(&found.deliveries, &Default::default(), &|_| {}).await.unwrap();
    let ctx = signals::session(&lake.live_paths("usage")).unwrap();
    let (batches, _) = signals::build_series(&ctx, &Azure31, Granularity::Day).await.unwrap();
    let v = batches[0].column(5).as_primitive::<arrow::datatypes::Float64Type>().value(0);
    // The quantity is kept to its ninth decimal place (Decimal128(38,9), ARCHITECTURE.md "Numeric ranges"), so
    // 100/31 GB-months comes back within a billionth of a GB-month times 31 days: 31 bytes of 100 GB.
    assert!((v - 100e9).abs() <= 31.0, "{v}");
}

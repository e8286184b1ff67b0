//! Registry and events files: the contract's shapes, every error located, and exact round trips.

use chrono::NaiveDate;
use registry::{EventKind, Events, Registry, Sector};

const REG: &str = "account_id,name,parent_id,sector,country,purposes,approvals\n\
mod-1,Defence Ministry,,military,IL,defence,\n\
unit-8,Unit 8,mod-1,intelligence,IL,\"signals; analysis\",face-identification@2025-02-01;speech\n\
cc-1,\"Calls, Inc.\",,commercial,US,contact centre,\n";

#[test]
fn reads_the_contract() {
    let r = Registry::from_reader("registry.csv", REG.as_bytes()).unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(r.sector_of("unit-8"), Sector::Intelligence);
    assert_eq!(r.sector_of("nobody"), Sector::Unknown);
    assert_eq!(r.ancestors("unit-8"), vec!["mod-1"]);
    assert_eq!(r.children_of("mod-1")[0].account_id, "unit-8");
    assert_eq!(r.get("unit-8").unwrap().purposes, vec!["signals", "analysis"]);
    assert!(!r.has_approval("unit-8", "face-identification", NaiveDate::from_ymd_opt(2025, 1, 31).unwrap()));
    assert!(r.has_approval("unit-8", "face-identification", NaiveDate::from_ymd_opt(2025, 2, 1).unwrap()));
    assert!(r.has_approval("unit-8", "speech", NaiveDate::from_ymd_opt(2000, 1, 1).unwrap()));
    assert_eq!(r.get("cc-1").unwrap().name, "Calls, Inc.");
    assert_eq!(r.unknown_accounts(["x", "cc-1", "x"]), vec!["x"]);
}

#[test]
fn bom_crlf_and_extra_columns() {
    let text = format!("\u{feff}{}", REG.replace('\n', "\r\n").replacen("approvals\r\n", "approvals,tier\r\n", 1).replace(",\r\n", ",,gold\r\n"));
    let text = text.replace("face-identification@2025-02-01;speech\r\n", "face-identification@2025-02-01;speech,\r\n");
    let r = Registry::from_reader("r.csv", text.as_bytes()).unwrap();
    assert_eq!(r.get("mod-1").unwrap().extra.get("tier").map(String::as_str), Some("gold"));
}

#[test]
fn errors_name_file_row_line_and_column() {
    let cases = [
        (
            REG.replace("intelligence", "inteligence"),
            "r.csv: row 2 (line 3), column \"sector\": unknown sector \"inteligence\" (did you mean \"intelligence\"?)",
        ),
        (REG.replace(",IL,defence", ",Israel,defence"), "r.csv: row 1 (line 2), column \"country\""),
        (REG.replace("cc-1,\"Calls", "mod-1,\"Calls"), "r.csv: row 3 (line 4), column \"account_id\": \"mod-1\" appears twice (first at row 1, line 2)"),
        (REG.replace("mod-1,intelligence", "mod-9,intelligence"), "r.csv: row 2 (line 3), column \"parent_id\": parent \"mod-9\" is not in the registry"),
        (REG.replace("@2025-02-01", "@1/2/25"), "column \"approvals\""),
        (REG.replace(",sector,", ",sectr,"), "r.csv: line 1 (header): missing column(s) sector"),
        (REG.replace("mod-1,Defence Ministry,,", "mod-1,Defence Ministry,unit-8,"), "loops back on itself"),
        ("".into(), "r.csv: empty file"),
    ];
    for (text, want) in cases {
        let e = Registry::from_reader("r.csv", text.as_bytes()).unwrap_err().to_string();
        assert!(e.contains(want), "{e}\n  wanted: {want}");
    }
    let mut bytes = REG.as_bytes().to_vec();
    let at = bytes.iter().position(|b| *b == b'U').unwrap();
    bytes[at] = 0xff;
    let e = Registry::from_reader("r.csv", &bytes[..]).unwrap_err().to_string();
    assert!(e.contains("not valid UTF-8"), "{e}");
}

#[test]
fn registry_round_trips() {
    let r = Registry::from_reader("r.csv", REG.as_bytes()).unwrap();
    let mut out = Vec::new();
    r.write_csv(&mut out).unwrap();
    let again = Registry::from_reader("r2.csv", &out[..]).unwrap();
    assert_eq!(r.iter().collect::<Vec<_>>(), again.iter().collect::<Vec<_>>());
}

const EV: &str = "account_id,date,kind,services,note\n\
unit-8,2025-08-06,exposure,,press report\n\
unit-8,2025-09-25T10:00:00Z,suspension,storage;ai,services disabled\n\
unit-8,2025-09-20T00:00:00+02:00,review-opened,,\n";

#[test]
fn events_read_sort_and_round_trip() {
    let e = Events::from_reader("events.csv", EV.as_bytes()).unwrap();
    let kinds: Vec<EventKind> = e.for_account("unit-8").iter().map(|x| x.kind).collect();
    assert_eq!(kinds, vec![EventKind::Exposure, EventKind::ReviewOpened, EventKind::Suspension]);
    let s = &e.for_account("unit-8")[2];
    assert_eq!(s.services, vec!["storage", "ai"]);
    let at = chrono::DateTime::parse_from_rfc3339("2025-09-30T00:00:00Z").unwrap().to_utc();
    assert_eq!(e.last_before("unit-8", &[EventKind::Suspension, EventKind::Notice], at).unwrap().kind, EventKind::Suspension);
    assert_eq!(e.for_account("unit-8")[1].at.to_rfc3339(), "2025-09-19T22:00:00+00:00");
    let mut out = Vec::new();
    e.write_csv(&mut out).unwrap();
    let again = Events::from_reader("e2.csv", &out[..]).unwrap();
    assert_eq!(e.iter().collect::<Vec<_>>(), again.iter().collect::<Vec<_>>());
}

#[test]
fn event_errors_are_located() {
    let e = Events::from_reader("e.csv", EV.replace("suspension", "suspend").as_bytes()).unwrap_err().to_string();
    assert!(e.contains("e.csv: row 2 (line 3), column \"kind\": unknown kind \"suspend\""), "{e}");
    let e = Events::from_reader("e.csv", EV.replace("2025-08-06", "8/6/25").as_bytes()).unwrap_err().to_string();
    assert!(e.contains("row 1 (line 2), column \"date\""), "{e}");
}

proptest::proptest! {
    #[test]
    fn any_registry_of_safe_text_round_trips(names in proptest::collection::vec("[ -~]{0,20}", 1..8), purposes in proptest::collection::vec("[a-z ,\"]{1,10}", 1..8)) {
        let mut text = String::from("account_id,name,parent_id,sector,country,purposes,approvals\n");
        for (i, n) in names.iter().enumerate() {
            let p = purposes[i % purposes.len()].trim().replace(';', "");
            let field = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            text.push_str(&format!("a{i},{},,media,GB,{},x@2025-01-0{}\n", field(n), field(&p), 1 + i % 9));
        }
        let r = Registry::from_reader("p.csv", text.as_bytes()).unwrap();
        let mut out = Vec::new();
        r.write_csv(&mut out).unwrap();
        let again = Registry::from_reader("p2.csv", &out[..]).unwrap();
        proptest::prop_assert_eq!(r.iter().collect::<Vec<_>>(), again.iter().collect::<Vec<_>>());
    }
}

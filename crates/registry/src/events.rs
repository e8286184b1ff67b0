//! `events.csv`: enforcement-relevant events (exposure, review, notice, suspension, lift).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};

use crate::{RegistryError, Table, did_you_mean};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// The use became public.
    Exposure,
    /// The provider opened a review.
    ReviewOpened,
    /// The provider notified the tenant.
    Notice,
    /// Services were suspended.
    Suspension,
    /// A suspension was lifted.
    Lift,
}

impl EventKind {
    /// Every kind with its file spelling.
    pub const NAMES: [(EventKind, &'static str); 5] = [
        (EventKind::Exposure, "exposure"),
        (EventKind::ReviewOpened, "review-opened"),
        (EventKind::Notice, "notice"),
        (EventKind::Suspension, "suspension"),
        (EventKind::Lift, "lift"),
    ];

    /// The spelling used in files.
    pub fn as_str(self) -> &'static str {
        EventKind::NAMES.iter().find(|(k, _)| *k == self).map(|(_, n)| *n).expect("every kind is named")
    }

    /// Parse a file spelling.
    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::NAMES.iter().find(|(_, n)| *n == s).map(|(k, _)| *k)
    }
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The account it concerns.
    pub account_id: String,
    /// When, in UTC.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: EventKind,
    /// Signal families it covers (`storage`, `ai`, ...); empty means all.
    pub services: Vec<String>,
    /// Free text.
    pub note: String,
    /// Columns beyond the contract.
    pub extra: BTreeMap<String, String>,
}

/// All events of a file, in file order.
#[derive(Debug, Clone, Default)]
pub struct Events {
    events: Vec<Event>,
}

const COLUMNS: [&str; 5] = ["account_id", "date", "kind", "services", "note"];

/// Parse an ISO 8601 UTC date or datetime (`2025-03-01`, `2025-03-01T12:00:00Z`, with an offset).
fn parse_when(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d.and_hms_opt(0, 0, 0)?.and_utc());
    }
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

impl Events {
    /// Read an events file.
    pub fn from_path(path: &Path) -> Result<Events, RegistryError> {
        let name = path.display().to_string();
        let f = std::fs::File::open(path).map_err(|e| RegistryError { file: name.clone(), row: 0, line: 0, column: String::new(), reason: e.to_string() })?;
        Events::from_reader(&name, f)
    }

    /// Read events from any reader; `file` names it in errors.
    pub fn from_reader(file: &str, reader: impl std::io::Read) -> Result<Events, RegistryError> {
        let t = Table::read(file, reader, &COLUMNS)?;
        let c: Vec<usize> = COLUMNS.iter().map(|n| t.col(n)).collect();
        let mut events = Vec::new();
        for (row, line, f) in &t.rows {
            let (row, line) = (*row, *line);
            let account_id = f[c[0]].trim().to_string();
            if account_id.is_empty() {
                return Err(t.err(row, line, "account_id", "empty account_id".into()));
            }
            let date = f[c[1]].trim();
            let at = parse_when(date).ok_or_else(|| t.err(row, line, "date", format!("\"{date}\" is not an ISO 8601 date or UTC datetime")))?;
            let kind_raw = f[c[2]].trim();
            let kind = EventKind::parse(kind_raw).ok_or_else(|| {
                t.err(row, line, "kind", format!("unknown kind \"{kind_raw}\"{}", did_you_mean(kind_raw, EventKind::NAMES.iter().map(|(_, n)| *n))))
            })?;
            let services = f[c[3]].split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
            let extra = t.header.iter().enumerate().filter(|(i, _)| !c.contains(i)).map(|(i, h)| (h.clone(), f[i].clone())).collect();
            events.push(Event { account_id, at, kind, services, note: f[c[4]].clone(), extra });
        }
        Ok(Events { events })
    }

    /// Build from events (for writers such as the simulator).
    pub fn from_events(events: Vec<Event>) -> Events {
        Events { events }
    }

    /// Write as `events.csv`; dates as RFC 3339 UTC.
    pub fn write_csv(&self, w: impl std::io::Write) -> Result<(), csv::Error> {
        let extra: Vec<String> = self.events.iter().flat_map(|e| e.extra.keys().cloned()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let mut out = csv::Writer::from_writer(w);
        out.write_record(COLUMNS.iter().map(|s| s.to_string()).chain(extra.iter().cloned()))?;
        for e in &self.events {
            let mut rec =
                vec![e.account_id.clone(), e.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(), e.kind.as_str().into(), e.services.join(";"), e.note.clone()];
            rec.extend(extra.iter().map(|k| e.extra.get(k).cloned().unwrap_or_default()));
            out.write_record(rec)?;
        }
        out.flush()?;
        Ok(())
    }

    /// All events, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Event> {
        self.events.iter()
    }

    /// The events of one account, sorted by time.
    pub fn for_account(&self, account_id: &str) -> Vec<&Event> {
        let mut v: Vec<&Event> = self.events.iter().filter(|e| e.account_id == account_id).collect();
        v.sort_by_key(|e| e.at);
        v
    }

    /// The last event of the given kinds for an account at or before `at`.
    pub fn last_before(&self, account_id: &str, kinds: &[EventKind], at: DateTime<Utc>) -> Option<&Event> {
        self.for_account(account_id).into_iter().rfind(|e| kinds.contains(&e.kind) && e.at <= at)
    }
}

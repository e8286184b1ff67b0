//! `registry.csv`: the provider's knowledge of its customers.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::NaiveDate;

use crate::{RegistryError, Table, did_you_mean};

/// A tenant's sector, which sets how strict a policy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sector {
    /// Companies.
    Commercial,
    /// Non-profit organisations.
    Nonprofit,
    /// Universities and research.
    Academic,
    /// Health care.
    Health,
    /// Media and broadcasting.
    Media,
    /// Civil government.
    Government,
    /// Police and other law enforcement.
    LawEnforcement,
    /// Immigration enforcement.
    Immigration,
    /// Armed forces.
    Military,
    /// Intelligence services.
    Intelligence,
    /// Seen in the exports but missing from the registry (never written in the file).
    Unknown,
}

impl Sector {
    /// The sectors a registry file may name, with their spellings.
    pub const NAMED: [(Sector, &'static str); 10] = [
        (Sector::Commercial, "commercial"),
        (Sector::Nonprofit, "nonprofit"),
        (Sector::Academic, "academic"),
        (Sector::Health, "health"),
        (Sector::Media, "media"),
        (Sector::Government, "government"),
        (Sector::LawEnforcement, "law-enforcement"),
        (Sector::Immigration, "immigration"),
        (Sector::Military, "military"),
        (Sector::Intelligence, "intelligence"),
    ];

    /// The spelling used in files.
    pub fn as_str(self) -> &'static str {
        Sector::NAMED.iter().find(|(s, _)| *s == self).map_or("unknown", |(_, n)| n)
    }

    /// Parse a file spelling (`unknown` is not allowed in a file).
    pub fn parse(s: &str) -> Option<Sector> {
        Sector::NAMED.iter().find(|(_, n)| *n == s).map(|(s, _)| *s)
    }
}

/// One grant, such as `face-identification@2025-02-01`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// What is approved.
    pub name: String,
    /// From which day (None: always).
    pub from: Option<NaiveDate>,
}

/// One row of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// A FOCUS `SubAccountId`, or a `BillingAccountId` for a whole billing account.
    pub account_id: String,
    /// Display name.
    pub name: String,
    /// The parent organisation, if any.
    pub parent_id: Option<String>,
    /// The sector.
    pub sector: Sector,
    /// ISO 3166-1 alpha-2 code.
    pub country: String,
    /// Declared purposes.
    pub purposes: Vec<String>,
    /// Grants.
    pub approvals: Vec<Approval>,
    /// Columns beyond the contract, kept as written.
    pub extra: BTreeMap<String, String>,
}

/// The tenant registry.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    tenants: Vec<Tenant>,
    index: HashMap<String, usize>,
}

const COLUMNS: [&str; 7] = ["account_id", "name", "parent_id", "sector", "country", "purposes", "approvals"];

fn split_list(s: &str) -> Vec<String> {
    s.split(';').map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect()
}

impl Registry {
    /// Read a registry file.
    pub fn from_path(path: &Path) -> Result<Registry, RegistryError> {
        let name = path.display().to_string();
        let f = std::fs::File::open(path).map_err(|e| RegistryError { file: name.clone(), row: 0, line: 0, column: String::new(), reason: e.to_string() })?;
        Registry::from_reader(&name, f)
    }

    /// Read a registry from any reader; `file` names it in errors.
    pub fn from_reader(file: &str, reader: impl std::io::Read) -> Result<Registry, RegistryError> {
        let t = Table::read(file, reader, &COLUMNS)?;
        let c: Vec<usize> = COLUMNS.iter().map(|n| t.col(n)).collect();
        let mut reg = Registry::default();
        let mut lines = Vec::new();
        for (row, line, f) in &t.rows {
            let (row, line) = (*row, *line);
            let id = f[c[0]].trim().to_string();
            if id.is_empty() {
                return Err(t.err(row, line, "account_id", "empty account_id".into()));
            }
            let sector_raw = f[c[3]].trim();
            let sector = Sector::parse(sector_raw).ok_or_else(|| {
                t.err(row, line, "sector", format!("unknown sector \"{sector_raw}\"{}", did_you_mean(sector_raw, Sector::NAMED.iter().map(|(_, n)| *n))))
            })?;
            let country = f[c[4]].trim().to_string();
            if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(t.err(row, line, "country", format!("\"{country}\" is not an ISO 3166-1 alpha-2 code (two capital letters)")));
            }
            let mut approvals = Vec::new();
            for a in split_list(&f[c[6]]) {
                let (name, from) = match a.split_once('@') {
                    Some((n, d)) => {
                        let day = NaiveDate::parse_from_str(d, "%Y-%m-%d")
                            .map_err(|_| t.err(row, line, "approvals", format!("\"{a}\": the date after @ must be YYYY-MM-DD")))?;
                        (n.to_string(), Some(day))
                    }
                    None => (a.clone(), None),
                };
                approvals.push(Approval { name, from });
            }
            let extra = t.header.iter().enumerate().filter(|(i, _)| !c.contains(i)).map(|(i, h)| (h.clone(), f[i].clone())).collect();
            let parent = f[c[2]].trim();
            let tenant = Tenant {
                account_id: id.clone(),
                name: f[c[1]].clone(),
                parent_id: (!parent.is_empty()).then(|| parent.to_string()),
                sector,
                country,
                purposes: split_list(&f[c[5]]),
                approvals,
                extra,
            };
            if let Some(&first) = reg.index.get(&id) {
                let (r0, l0) = lines[first];
                return Err(t.err(row, line, "account_id", format!("\"{id}\" appears twice (first at row {r0}, line {l0})")));
            }
            reg.index.insert(id, reg.tenants.len());
            reg.tenants.push(tenant);
            lines.push((row, line));
        }
        for (i, tn) in reg.tenants.iter().enumerate() {
            let (row, line) = lines[i];
            if let Some(p) = &tn.parent_id
                && !reg.index.contains_key(p)
            {
                return Err(t.err(row, line, "parent_id", format!("parent \"{p}\" is not in the registry")));
            }
            // A parent chain longer than the registry has a cycle.
            let mut seen = 0;
            let mut cur = tn.parent_id.as_deref();
            while let Some(p) = cur {
                seen += 1;
                if p == tn.account_id || seen > reg.tenants.len() {
                    return Err(t.err(row, line, "parent_id", format!("parent chain of \"{}\" loops back on itself", tn.account_id)));
                }
                cur = reg.get(p).and_then(|x| x.parent_id.as_deref());
            }
        }
        Ok(reg)
    }

    /// Write the registry as `registry.csv` (the contract's columns, then extra columns in name order).
    pub fn write_csv(&self, w: impl std::io::Write) -> Result<(), csv::Error> {
        let extra: Vec<String> = self.tenants.iter().flat_map(|t| t.extra.keys().cloned()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let mut out = csv::Writer::from_writer(w);
        out.write_record(COLUMNS.iter().map(|s| s.to_string()).chain(extra.iter().cloned()))?;
        for t in &self.tenants {
            let approvals: Vec<String> = t
                .approvals
                .iter()
                .map(|a| match a.from {
                    Some(d) => format!("{}@{d}", a.name),
                    None => a.name.clone(),
                })
                .collect();
            let mut rec = vec![
                t.account_id.clone(),
                t.name.clone(),
                t.parent_id.clone().unwrap_or_default(),
                t.sector.as_str().into(),
                t.country.clone(),
                t.purposes.join(";"),
                approvals.join(";"),
            ];
            rec.extend(extra.iter().map(|k| t.extra.get(k).cloned().unwrap_or_default()));
            out.write_record(rec)?;
        }
        out.flush()?;
        Ok(())
    }

    /// Build a registry from tenants (for writers such as the simulator). Fails on a duplicate id.
    pub fn from_tenants(tenants: Vec<Tenant>) -> Result<Registry, String> {
        let mut reg = Registry::default();
        for t in tenants {
            if reg.index.insert(t.account_id.clone(), reg.tenants.len()).is_some() {
                return Err(format!("duplicate account_id {}", t.account_id));
            }
            reg.tenants.push(t);
        }
        Ok(reg)
    }

    /// A tenant by account id.
    pub fn get(&self, account_id: &str) -> Option<&Tenant> {
        self.index.get(account_id).map(|&i| &self.tenants[i])
    }

    /// The sector of an account, `Unknown` when it is not in the registry.
    pub fn sector_of(&self, account_id: &str) -> Sector {
        self.get(account_id).map_or(Sector::Unknown, |t| t.sector)
    }

    /// The parent of an account.
    pub fn parent_of(&self, account_id: &str) -> Option<&str> {
        self.get(account_id)?.parent_id.as_deref()
    }

    /// Parent, grandparent, ... up to the top (cycles are refused at load).
    pub fn ancestors(&self, account_id: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut cur = self.parent_of(account_id);
        while let Some(p) = cur {
            out.push(p);
            cur = self.parent_of(p);
        }
        out
    }

    /// Direct children, in file order.
    pub fn children_of(&self, account_id: &str) -> Vec<&Tenant> {
        self.tenants.iter().filter(|t| t.parent_id.as_deref() == Some(account_id)).collect()
    }

    /// Whether the account holds the grant on that day.
    pub fn has_approval(&self, account_id: &str, name: &str, on: NaiveDate) -> bool {
        self.get(account_id).is_some_and(|t| t.approvals.iter().any(|a| a.name == name && a.from.is_none_or(|d| d <= on)))
    }

    /// Tenants in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Tenant> {
        self.tenants.iter()
    }

    /// Number of tenants.
    pub fn len(&self) -> usize {
        self.tenants.len()
    }

    /// No tenants.
    pub fn is_empty(&self) -> bool {
        self.tenants.is_empty()
    }

    /// The accounts of `seen` that the registry lacks (scanned as sector `unknown`, and reported), sorted, once each.
    pub fn unknown_accounts<'a>(&self, seen: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut out: Vec<String> = seen.into_iter().filter(|a| !self.index.contains_key(*a)).map(str::to_string).collect();
        out.sort();
        out.dedup();
        out
    }
}

//! `labels.json`: the ground truth of a scenario folder (DESIGN.md §3).
//!
//! ```json
//! {"generator": "oversight simulate 0.1.0", "seed": 1, "start": "2025-01-01", "days": 365,
//!  "accounts": [
//!   {"account_id": "…", "label": "benign", "kind": "contact-centre", "hard_negative": true},
//!   {"account_id": "…", "label": "structuring", "kind": "structuring", "onset": "2025-03-01",
//!    "observable": "2025-04-12", "assumptions": "20 sub-accounts, 2-minute calls, …"}]}
//! ```
//! Every account of the exports appears once, sub-accounts and billing accounts (organisations) alike:
//! - `label` is `benign` or a scenario name; `kind` names the workload the account was simulated as.
//! - `onset` is the day the behaviour starts; `observable` the first day its signature is in the data, by the rule
//!   stated in `assumptions` (for example "first day with at least 2,500 audio hours an hour").
//! - `part_of` marks a sub-account of a labelled parent (`structuring`): a finding on it is neither right nor wrong.
//! - `contains` lists, on a benign organisation, the scenario accounts below it, so that an evaluation can treat a
//!   finding aggregated over the organisation as neither right nor wrong either.
//! - `hard_negative` marks benign accounts built to look like surveillance in one signal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Labels {
    /// The program and version that wrote it.
    pub generator: String,
    /// The seed.
    pub seed: u64,
    /// The first simulated day (ISO 8601).
    pub start: String,
    /// Days simulated.
    pub days: u32,
    /// One entry per account.
    pub accounts: Vec<Label>,
}

/// One account's truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// The account a finding should name.
    pub account_id: String,
    /// `benign` or the scenario name.
    pub label: String,
    /// The workload simulated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A benign account that looks like surveillance in one signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hard_negative: Option<bool>,
    /// The day the behaviour starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onset: Option<String>,
    /// The first day its signature is in the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observable: Option<String>,
    /// What the simulation assumed, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assumptions: Option<String>,
    /// The labelled parent this account is a part of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_of: Option<String>,
    /// Scenario accounts below this (benign) organisation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contains: Vec<String>,
}

impl Label {
    /// A benign label of `kind`.
    pub fn benign(account_id: &str, kind: &str) -> Label {
        Label {
            account_id: account_id.to_string(),
            label: "benign".into(),
            kind: Some(kind.to_string()),
            hard_negative: None,
            onset: None,
            observable: None,
            assumptions: None,
            part_of: None,
            contains: Vec::new(),
        }
    }
}

impl Labels {
    /// Parse a `labels.json`.
    pub fn parse(text: &str) -> Result<Labels, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Accounts per label, sorted by label.
    pub fn counts(&self) -> Vec<(String, usize)> {
        let mut m: BTreeMap<String, usize> = BTreeMap::new();
        for a in &self.accounts {
            *m.entry(a.label.clone()).or_default() += 1;
        }
        m.into_iter().collect()
    }

    /// The label of an account.
    pub fn get(&self, account_id: &str) -> Option<&Label> {
        self.accounts.iter().find(|a| a.account_id == account_id)
    }
}

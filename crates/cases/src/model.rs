//! What a case is: its subject, state, decision and approvals; the findings it is built from; the actions people
//! take on it; and what the store gives back when asked.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use enforce::{Family, Provider, Scope};
use serde::{Deserialize, Serialize};

use crate::{Account, CaseError};

/// The state of a case. A case moves `open → under-review → decided → enforced → lifted`; a `no-action` or
/// `notice` decision ends it at `decided`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Findings came in; nobody reviews it yet.
    Open,
    /// A reviewer is assigned.
    UnderReview,
    /// An outcome is decided; `restrict` and `suspend` wait for two approvals, then enforcement.
    Decided,
    /// Enforcement documents were issued; the case keeps watching the subject's organisation.
    Enforced,
    /// The enforcement was lifted; the case is closed.
    Lifted,
}

impl State {
    /// Every state, in order.
    pub const ALL: [State; 5] = [State::Open, State::UnderReview, State::Decided, State::Enforced, State::Lifted];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::UnderReview => "under-review",
            State::Decided => "decided",
            State::Enforced => "enforced",
            State::Lifted => "lifted",
        }
    }

    /// Parse the kebab-case name.
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What the reviewers decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Nothing to do; the case closes.
    NoAction,
    /// The customer is told; the case closes.
    Notice,
    /// New or growing use of the decided services is blocked (needs two approvals).
    Restrict,
    /// The decided services are stopped for the unit (needs two approvals).
    Suspend,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 4] = [Outcome::NoAction, Outcome::Notice, Outcome::Restrict, Outcome::Suspend];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::NoAction => "no-action",
            Outcome::Notice => "notice",
            Outcome::Restrict => "restrict",
            Outcome::Suspend => "suspend",
        }
    }

    /// Parse the kebab-case name.
    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the outcome is enforced on the provider (and so needs the two-person rule).
    pub fn enforces(self) -> bool {
        matches!(self, Outcome::Restrict | Outcome::Suspend)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Whether a case (or a finding) is about one account or a parent organisation as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SubjectKind {
    /// One account.
    #[default]
    Account,
    /// A parent organisation: the sum over its accounts.
    Parent,
}

impl SubjectKind {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Account => "account",
            SubjectKind::Parent => "parent",
        }
    }

    /// Parse the lowercase name.
    pub fn parse(s: &str) -> Option<SubjectKind> {
        [SubjectKind::Account, SubjectKind::Parent].into_iter().find(|x| x.as_str() == s)
    }
}

/// The policy a finding applies, as `oversight scan --json` names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyRef {
    /// Policy id.
    pub id: String,
    /// Policy version.
    pub version: u32,
    /// SHA-256 of the policy file.
    pub sha256: String,
}

/// A finding, as `oversight scan --json` writes it; the fields a case keeps (others are ignored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The policy.
    pub policy: PolicyRef,
    /// The policy's title.
    #[serde(default)]
    pub title: String,
    /// The account or parent organisation the finding names.
    pub account_id: String,
    /// Whether it names an account or a parent organisation.
    #[serde(default)]
    pub scope: SubjectKind,
    /// The day the policy's conditions held.
    pub as_of: NaiveDate,
    /// The first day the conditions read.
    pub window_start: NaiveDate,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// How far past its threshold the weakest condition is.
    pub score: f64,
    /// Each condition's measured value and threshold, as scan wrote them.
    #[serde(default)]
    pub measured: Vec<serde_json::Value>,
    /// The series points read, as scan wrote them.
    #[serde(default)]
    pub evidence: Vec<serde_json::Value>,
}

/// Read findings from the JSON of `oversight scan --format json` (an object with `findings`) or a bare array.
pub fn findings_from_json(text: &str) -> Result<Vec<Finding>, CaseError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| CaseError::Input(format!("findings: {e}")))?;
    let list = match v {
        serde_json::Value::Object(mut o) => o.remove("findings").ok_or_else(|| CaseError::Input("findings: the object has no \"findings\" array".into()))?,
        other => other,
    };
    serde_json::from_value(list).map_err(|e| CaseError::Input(format!("findings: {e}")))
}

/// The unit a restrict or suspend decision applies to, in its provider's terms (what the enforcement documents
/// target).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// The unit's cloud.
    pub provider: Provider,
    /// Its subscriptions, management group, accounts, OU, projects or folder.
    pub scope: Scope,
    /// AWS only: the organization's management account, which service control policies never affect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_management_account: Option<String>,
}

/// A decision as a reviewer states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruling {
    /// The outcome.
    pub outcome: Outcome,
    /// The unit (required for `restrict` and `suspend`, refused otherwise).
    pub unit: Option<Unit>,
    /// The service families (empty: all of them). Only for `restrict` and `suspend`.
    pub services: Vec<Family>,
}

/// What someone does to a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Assign (or reassign) the reviewer: `open → under-review`, or `under-review` again.
    Assign {
        /// Who reviews.
        reviewer: String,
    },
    /// Decide the outcome: `under-review → decided`.
    Decide(Ruling),
    /// Approve a `restrict` or `suspend` decision, as the acting reviewer (two different reviewers are needed).
    Approve,
    /// Issue the enforcement documents of an approved decision: `decided → enforced`.
    Enforce,
    /// Lift the enforcement: `enforced → lifted`.
    Lift,
}

impl Action {
    /// The action's name, as logged.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Assign { .. } => "assign",
            Action::Decide(_) => "decide",
            Action::Approve => "approve",
            Action::Enforce => "enforce",
            Action::Lift => "lift",
        }
    }
}

/// A reviewer's role on the roster, and so the actions they may take:
///
/// | role       | assign, decide, be assigned | approve, enforce, lift |
/// |------------|-----------------------------|------------------------|
/// | `reviewer` | yes                         | no                     |
/// | `approver` | yes                         | yes                    |
/// | `admin`    | yes                         | yes                    |
/// | `auditor`  | no                          | no                     |
///
/// An auditor reads cases and takes no action. `admin` acts as an approver and is the role the web console gives the
/// right to manage the roster; this crate does not check who manages it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Assigns, decides, is assigned cases.
    Reviewer,
    /// A reviewer who also approves, enforces and lifts.
    Approver,
    /// An approver who also manages the roster.
    Admin,
    /// Reads only.
    Auditor,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Reviewer, Role::Approver, Role::Admin, Role::Auditor];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reviewer => "reviewer",
            Role::Approver => "approver",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    /// Parse the lowercase name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the role reviews: assigns and decides cases, and may be assigned one.
    pub fn reviews(self) -> bool {
        matches!(self, Role::Reviewer | Role::Approver | Role::Admin)
    }

    /// Whether the role approves, enforces and lifts decisions.
    pub fn approves(self) -> bool {
        matches!(self, Role::Approver | Role::Admin)
    }

    /// Whether the role may take `action` (see the table on [`Role`]).
    pub fn may(self, action: &Action) -> bool {
        match action {
            Action::Assign { .. } | Action::Decide(_) => self.reviews(),
            Action::Approve | Action::Enforce | Action::Lift => self.approves(),
        }
    }

    /// The roles that may take `action`, as a message says it.
    pub(crate) fn needed_for(action: &Action) -> &'static str {
        match action {
            Action::Assign { .. } | Action::Decide(_) => "a reviewer, approver or admin",
            Action::Approve | Action::Enforce | Action::Lift => "an approver or admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A reviewer on the roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reviewer {
    /// The name as registered: the one transitions, approvals and the log record.
    pub name: String,
    /// Its canonical key ([`crate::identity::key`]); unique on the roster.
    pub key: String,
    /// What they may do.
    pub role: Role,
    /// When they were added.
    pub created_at: DateTime<Utc>,
    /// When they were removed; their past actions stand, new ones are refused.
    pub removed_at: Option<DateTime<Utc>>,
    /// The id of their approval key ([`crate::approval::key_id`]); none only for a reviewer removed before keys
    /// existed.
    pub key_id: Option<String>,
    /// Whether they have a password, and so can sign in.
    pub has_password: bool,
}

/// Who acts, when and why. Every transition records all three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Act {
    /// The person acting: a signed-in account, still on the roster when it acts.
    pub actor: Account,
    /// Why (kept in the store; the log carries its SHA-256).
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The case version the actor saw; a different current version is a conflict. `None`: the version read just
    /// before the change (a change made in between is still a conflict).
    pub expect_version: Option<i64>,
}

/// A case as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    /// `case-NNNNNN`.
    pub id: String,
    /// The account or parent organisation it is about.
    pub subject: String,
    /// Account or parent.
    pub subject_kind: SubjectKind,
    /// The subject's parent in the registry when the case opened.
    pub parent_id: Option<String>,
    /// The state.
    pub state: State,
    /// The outcome, once decided.
    pub outcome: Option<Outcome>,
    /// The unit of a restrict or suspend decision.
    pub unit: Option<Unit>,
    /// The service families of a restrict or suspend decision (empty: all).
    pub services: Vec<Family>,
    /// The assigned reviewer.
    pub assignee: Option<String>,
    /// The reviewers who approved the decision, in the order they did.
    pub approvals: Vec<String>,
    /// Grows by one with every change.
    pub version: i64,
    /// When it opened.
    pub opened_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Case {
    /// Whether new findings on its subject join it: every state but a closed one.
    pub fn is_active(&self) -> bool {
        match self.state {
            State::Lifted => false,
            State::Decided => self.outcome.is_some_and(Outcome::enforces),
            _ => true,
        }
    }
}

/// Where one finding went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placement {
    /// The finding's account.
    pub account_id: String,
    /// The finding's policy id.
    pub policy_id: String,
    /// The finding's day.
    pub as_of: NaiveDate,
    /// The case it is in.
    pub case_id: String,
    /// `opened` (a new case), `joined` (the open case of its account), `watch` (an enforced case of its parent or
    /// a sibling account), or `duplicate` (the case already had it).
    pub how: &'static str,
}

/// A finding kept by a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseFinding {
    /// `subject` or `watch`.
    pub via: String,
    /// When it was added.
    pub added_at: DateTime<Utc>,
    /// The finding.
    pub finding: Finding,
    /// When and why it was withdrawn (the day scanned again on restated data no longer gives it), if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<Withdrawal>,
}

/// Why a finding no longer holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Withdrawal {
    /// When.
    pub at: DateTime<Utc>,
    /// Why, as the run that withdrew it said.
    pub reason: String,
}

/// An inclusion proof of a logged entry, as kept by the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryProof {
    /// The entry's index.
    pub index: u64,
    /// The tree size the proof is for.
    pub size: u64,
    /// That tree's root, base64.
    pub root: String,
    /// The audit path, base64 hashes.
    pub hashes: Vec<String>,
    /// The signed checkpoint of that tree.
    pub checkpoint: String,
}

/// One transparency-log entry of a transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedEntry {
    /// `<transition id>.<part>`, also in the entry itself.
    pub id: String,
    /// `decision`, `finding`, `enforcement` or `lift`.
    pub kind: String,
    /// The entry as logged (canonical JSON).
    pub body: String,
    /// Its index in the log; `None` while it waits in the outbox.
    pub index: Option<u64>,
    /// Its inclusion proof when it was appended.
    pub proof: Option<EntryProof>,
}

/// One change of a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    /// A UUID.
    pub id: String,
    /// The case version after the change.
    pub version: i64,
    /// `open`, `findings`, `assign`, `decide`, `approve`, `enforce` or `lift`.
    pub action: String,
    /// The state before (none for `open`).
    pub from: Option<State>,
    /// The state after.
    pub to: State,
    /// Who.
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: String,
    /// What changed (the decision, the approvals, the documents, the findings).
    pub detail: serde_json::Value,
    /// Its log entries.
    pub entries: Vec<LoggedEntry>,
}

/// An enforcement document issued for a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedDocument {
    /// Its file name.
    pub file_name: String,
    /// Its provider.
    pub provider: String,
    /// Its kind (`scp`, `policy-assignment`, ...).
    pub kind: String,
    /// SHA-256 of `json`, as logged.
    pub sha256: String,
    /// What it does and does not do.
    pub summary: String,
    /// The document (canonical JSON).
    pub json: String,
}

/// Everything about one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseRecord {
    /// The case.
    pub case: Case,
    /// Its findings, oldest first.
    pub findings: Vec<CaseFinding>,
    /// Its transitions, oldest first, with their log entries.
    pub history: Vec<Transition>,
    /// Its enforcement documents.
    pub documents: Vec<IssuedDocument>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_takes_the_actions_of_its_table() {
        let decide = Action::Decide(Ruling { outcome: Outcome::Notice, unit: None, services: vec![] });
        let actions = [Action::Assign { reviewer: "x".into() }, decide, Action::Approve, Action::Enforce, Action::Lift];
        let table = [
            (Role::Reviewer, [true, true, false, false, false]),
            (Role::Approver, [true, true, true, true, true]),
            (Role::Admin, [true, true, true, true, true]),
            (Role::Auditor, [false, false, false, false, false]),
        ];
        for (role, may) in table {
            let got: Vec<bool> = actions.iter().map(|a| role.may(a)).collect();
            assert_eq!(got, may, "{role}");
            assert_eq!(role.reviews(), may[1], "{role}: whoever decides may be assigned");
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("Admin"), None);
    }
}

//! The case store over sqlx's `Any` driver (SQLite or PostgreSQL), and the operations of the API.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::SigningKey;
use enforce::{DecisionKind, Document};
use registry::Registry;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, Connection, Row};
use tlog::log::{Log, LogError};

use crate::CaseError;
use crate::db::{Database, redact};
use crate::model::{
    Act, Action, Case, CaseFinding, CaseRecord, EntryProof, Finding, IssuedDocument, LoggedEntry, Outcome, Placement, Reviewer, Role, State, SubjectKind,
    Transition, Unit, Withdrawal,
};
use crate::outbox::{NewEntry, entry, signed_entry};
use crate::route::{Target, route};
use crate::{Account, approval, identity, machine};

/// Findings per `finding` log entry, so an entry stays far below the 65,535-byte limit.
const FINDINGS_PER_ENTRY: usize = 50;

/// The migrations, embedded: the same files run on SQLite and PostgreSQL.
#[derive(Debug)]
struct Embedded;

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> std::pin::Pin<Box<dyn Future<Output = Result<Vec<Migration>, sqlx::error::BoxDynError>> + Send + 's>> {
        let migration = |version, name, sql| Migration::new(version, Cow::Borrowed(name), MigrationType::Simple, Cow::Borrowed(sql), false);
        Box::pin(async move {
            Ok(vec![
                migration(1, "cases", include_str!("../migrations/0001_cases.sql")),
                migration(2, "reviewers", include_str!("../migrations/0002_reviewers.sql")),
                migration(3, "accounts", include_str!("../migrations/0003_accounts.sql")),
                migration(4, "withdrawn", include_str!("../migrations/0004_withdrawn.sql")),
            ])
        })
    }
}

/// How long an operation waits for one of the pool's connections (sqlx's default is 30 s).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Create a new SQLite file readable by its owner only (on unix); an existing file is left as it is.
fn create_private(path: &Path) -> Result<(), CaseError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(CaseError::File { path: path.display().to_string(), source }),
    }
}

/// The case store and the transparency log it records to.
pub struct Cases {
    pub(crate) pool: AnyPool,
    pub(crate) log: Log,
    pub(crate) reopen: Box<dyn Fn() -> Result<Log, LogError> + Send + Sync>,
    key: Vec<u8>,
    #[cfg(test)]
    pub(crate) crash: Option<crate::outbox::Crash>,
}

/// The result of an action: the case after it, and the enforcement documents it issued (for `enforce`).
#[derive(Debug, Clone)]
pub struct Applied {
    /// The case after the action.
    pub case: Case,
    /// The documents `enforce` issued, in the order to apply them; empty for other actions.
    pub documents: Vec<Document>,
}

pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_time(s: &str) -> Result<DateTime<Utc>, CaseError> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|e| CaseError::Corrupt(format!("time {s:?}: {e}")))
}

fn corrupt(what: &str, value: &str) -> CaseError {
    CaseError::Corrupt(format!("{what} {value:?}"))
}

pub(crate) fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

const CASE_COLUMNS: &str = "id, subject, subject_kind, parent_id, state, outcome, unit, services, assignee, version, opened_at, updated_at";

fn case_from_row(r: &AnyRow, approvals: Vec<String>) -> Result<Case, CaseError> {
    let kind: String = r.try_get("subject_kind")?;
    let state: String = r.try_get("state")?;
    let outcome: Option<String> = r.try_get("outcome")?;
    let unit: Option<String> = r.try_get("unit")?;
    let services: Option<String> = r.try_get("services")?;
    Ok(Case {
        id: r.try_get("id")?,
        subject: r.try_get("subject")?,
        subject_kind: SubjectKind::parse(&kind).ok_or_else(|| corrupt("subject kind", &kind))?,
        parent_id: r.try_get("parent_id")?,
        state: State::parse(&state).ok_or_else(|| corrupt("state", &state))?,
        outcome: outcome.map(|o| Outcome::parse(&o).ok_or_else(|| corrupt("outcome", &o))).transpose()?,
        unit: unit.map(|u| serde_json::from_str(&u).map_err(|_| corrupt("unit", &u))).transpose()?,
        services: services.map(|s| serde_json::from_str(&s).map_err(|_| corrupt("services", &s))).transpose()?.unwrap_or_default(),
        assignee: r.try_get("assignee")?,
        approvals,
        version: r.try_get("version")?,
        opened_at: parse_time(&r.try_get::<String, _>("opened_at")?)?,
        updated_at: parse_time(&r.try_get::<String, _>("updated_at")?)?,
    })
}

pub(crate) const REVIEWER_COLUMNS: &str = "canonical, name, role, created_at, removed_at, key_id, password_hash";

pub(crate) fn reviewer_from_row(r: &AnyRow) -> Result<Reviewer, CaseError> {
    let role: String = r.try_get("role")?;
    let removed_at: Option<String> = r.try_get("removed_at")?;
    Ok(Reviewer {
        name: r.try_get("name")?,
        key: r.try_get("canonical")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        created_at: parse_time(&r.try_get::<String, _>("created_at")?)?,
        removed_at: removed_at.map(|t| parse_time(&t)).transpose()?,
        key_id: r.try_get("key_id")?,
        has_password: r.try_get::<Option<String>, _>("password_hash")?.is_some(),
    })
}

/// The `account` log entry of a roster change: `add` (a new reviewer and their approval key), `key` (a key made for
/// a reviewer of an older store) or `remove`. It names the reviewer as registered, as decision entries do, and their
/// key by its id; `add` and `key` publish the public key (base64).
fn account_entry(action: &str, name: &str, role: Role, key_id: Option<&str>, public_key: Option<&str>, at: DateTime<Utc>) -> Result<NewEntry, CaseError> {
    let mut m = Map::new();
    m.insert("action".into(), action.into());
    m.insert("name".into(), name.into());
    m.insert("role".into(), role.as_str().into());
    m.insert("key_id".into(), key_id.into());
    if let Some(public_key) = public_key {
        m.insert("public_key".into(), public_key.into());
    }
    m.insert("at".into(), time(at).into());
    entry(&uuid::Uuid::new_v4().to_string(), 0, "account", m)
}

/// The columns of a new approval key: its id, public key (base64) and seed (hex).
fn key_columns(key: &SigningKey) -> (String, String, String) {
    let public = key.verifying_key().to_bytes();
    (approval::key_id(&public), STANDARD.encode(public), hex::encode(key.to_bytes()))
}

/// The findings of one batch that go to one case.
struct Group<'a> {
    case: String,
    new: bool,
    /// Each finding with its position in the batch and how it came (`opened`, `joined`, `watch`).
    findings: Vec<(usize, &'a Finding, &'static str)>,
}

/// The common fields of a transition's `decision` or `lift` entry.
struct Logged<'a> {
    case: &'a Case,
    subject: String,
    transition: &'a str,
    /// The case's version after the change.
    version: i64,
    action: &'a str,
    from: Option<State>,
    to: State,
    actor: &'a str,
    at: DateTime<Utc>,
    reason: &'a str,
}

impl Logged<'_> {
    /// Store the transition row, inside its database transaction.
    async fn insert(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>, detail: &Value) -> Result<(), CaseError> {
        sqlx::query("INSERT INTO transitions (id, case_id, version, action, from_state, to_state, actor, at, reason, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(self.transition)
            .bind(&self.case.id)
            .bind(self.version)
            .bind(self.action)
            .bind(self.from.map(|s| s.as_str()))
            .bind(self.to.as_str())
            .bind(self.actor)
            .bind(time(self.at))
            .bind(self.reason)
            .bind(detail.to_string())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    fn fields(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("case".into(), self.case.id.clone().into());
        m.insert("subject".into(), self.subject.clone().into());
        m.insert("subject_kind".into(), self.case.subject_kind.as_str().into());
        m.insert("transition".into(), self.transition.into());
        m.insert("version".into(), self.version.into());
        m.insert("action".into(), self.action.into());
        m.insert("from".into(), self.from.map_or(Value::Null, |s| s.as_str().into()));
        m.insert("to".into(), self.to.as_str().into());
        m.insert("actor".into(), self.actor.into());
        m.insert("at".into(), time(self.at).into());
        m.insert("reason_sha256".into(), sha256_hex(self.reason).into());
        m
    }
}

/// The decision fields of a `decide` or `approve` entry: outcome, provider and services in clear, and the SHA-256 of
/// the decision with its unit (which names the tenant's accounts, so the log does not show it).
fn decision_fields(m: &mut Map<String, Value>, next: &machine::Next) {
    m.insert("outcome".into(), next.outcome.map(|o| o.as_str()).into());
    m.insert("provider".into(), next.unit.as_ref().map(|u| u.provider.as_str()).into());
    m.insert("services".into(), json!(next.services));
    if let Some(outcome) = next.outcome {
        m.insert("decision_sha256".into(), approval::decision_sha256(outcome, next.unit.as_ref(), &next.services).into());
    }
}

/// The log entries of a transition: its `decision` (or `lift`) entry, then an `enforcement` entry per document. An
/// approval's entry is signed with the approver's key (`approver`).
fn transition_entries(
    logged: &Logged,
    action: &Action,
    next: &machine::Next,
    documents: &[Document],
    approver: Option<&SigningKey>,
) -> Result<Vec<NewEntry>, CaseError> {
    let mut m = logged.fields();
    match action {
        Action::Assign { .. } => {
            m.insert("assignee".into(), next.assignee.clone().into());
        }
        Action::Decide(_) => decision_fields(&mut m, next),
        Action::Approve => {
            m.insert("approvals".into(), next.approvals.len().into());
            decision_fields(&mut m, next);
        }
        Action::Enforce => {
            m.insert("documents".into(), documents.len().into());
        }
        Action::Lift => {}
    }
    let kind = if *action == Action::Lift { "lift" } else { "decision" };
    let first = match approver {
        Some(key) => signed_entry(logged.transition, 0, kind, m, key)?,
        None => entry(logged.transition, 0, kind, m)?,
    };
    let mut out = vec![first];
    for d in documents {
        let mut e = Map::new();
        e.insert("case".into(), logged.case.id.clone().into());
        e.insert("subject".into(), logged.subject.clone().into());
        e.insert("transition".into(), logged.transition.into());
        e.insert("provider".into(), d.provider.as_str().into());
        e.insert("document".into(), d.kind.as_str().into());
        e.insert("sha256".into(), d.sha256.clone().into());
        e.insert("at".into(), time(logged.at).into());
        out.push(entry(logged.transition, out.len() as i64, "enforcement", e)?);
    }
    Ok(out)
}

/// The enforce crate's decision for a case decided to restrict or suspend.
fn enforce_decision(case: &Case, approved_by: Vec<String>, decided_at: DateTime<Utc>) -> Result<enforce::Decision, CaseError> {
    let (Some(outcome), Some(Unit { provider, scope, aws_management_account })) = (case.outcome, case.unit.clone()) else {
        return Err(CaseError::Corrupt(format!("case {} is decided without an outcome and unit", case.id)));
    };
    let decision = match outcome {
        Outcome::Restrict => DecisionKind::Restrict,
        Outcome::Suspend => DecisionKind::Suspend,
        other => return Err(CaseError::Corrupt(format!("case {} enforces {other}", case.id))),
    };
    Ok(enforce::Decision {
        case_id: case.id.clone(),
        provider,
        scope,
        decision,
        services: case.services.clone(),
        approved_by,
        decided_at,
        aws_management_account,
    })
}

/// What [`Cases::init`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// The store is new: its schema was created (and for SQLite its file, mode 0600).
    Created,
    /// A store was already there; its schema is brought up to date and nothing else changes.
    Existing,
}

impl Cases {
    /// Create the case store at `db` (see [`db_url`](crate::db_url)): the SQLite file (mode 0600 on unix; its folder must exist)
    /// or the PostgreSQL database when missing, and the schema. On an existing store it is idempotent: it brings
    /// the schema up to date, never touches the data, and says [`Init::Existing`].
    pub async fn init(db: &str) -> Result<Init, CaseError> {
        sqlx::any::install_default_drivers();
        let database = Database::parse(db);
        if let Database::Sqlite { path: Some(path), .. } = &database {
            create_private(path)?;
        }
        let mut conn = match database.connect(db).await {
            // PostgreSQL: the database itself is missing, and its server can make it.
            Err(CaseError::NoStore { .. }) => {
                <sqlx::Any as sqlx::migrate::MigrateDatabase>::create_database(database.url()).await.map_err(|e| database.connect_error(db, e))?;
                database.connect(db).await?
            }
            conn => conn?,
        };
        let existed = database.has_schema(&mut conn).await?;
        Migrator::new(Embedded).await?.run(&mut conn).await?;
        conn.close().await?;
        Ok(if existed { Init::Existing } else { Init::Created })
    }

    /// Open the store at `db` (see [`db_url`](crate::db_url)), bring its schema up to date, give every active reviewer
    /// of an older store an approval key (published on the log), and reconcile the store with the log: pending log
    /// entries a crash left are appended (or found already appended) and recorded. A store that does
    /// not exist, or a database without its schema, is refused ([`CaseError::NoStore`]) and nothing is created:
    /// [`Cases::init`] creates stores. A server that cannot be reached within a few seconds is named by host and
    /// port ([`CaseError::Unreachable`]).
    ///
    /// `log` opens the transparency log; it is called again whenever a fresh handle is needed (another writer
    /// appended, or a crash left a batch to finish), e.g. `move || Log::open(&dir, &private)`. `pseudonym_key`
    /// is the provider's key for tenant pseudonyms (HMAC-SHA256, [`tlog::entry::pseudonym`]).
    pub async fn open(db: &str, log: impl Fn() -> Result<Log, LogError> + Send + Sync + 'static, pseudonym_key: &[u8]) -> Result<Cases, CaseError> {
        if pseudonym_key.is_empty() {
            return Err(CaseError::Input("the pseudonym key is empty".into()));
        }
        sqlx::any::install_default_drivers();
        let database = Database::parse(db);
        if let Database::Sqlite { path: Some(path), .. } = &database
            && !path.exists()
        {
            return Err(CaseError::NoStore { db: db.to_string(), why: "there is no such file".into() });
        }
        // One connection first, outside the pool: it fails fast and says why.
        let mut conn = database.connect(db).await?;
        let initialised = database.has_schema(&mut conn).await?;
        conn.close().await?;
        if !initialised {
            return Err(CaseError::NoStore { db: redact(db), why: "the database has no case store schema".into() });
        }
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(database.url())
            .await
            .map_err(|e| database.connect_error(db, e))?;
        Migrator::new(Embedded).await?.run(&pool).await?;
        let first = log()?;
        let mut cases = Cases {
            pool,
            log: first,
            reopen: Box::new(log),
            key: pseudonym_key.to_vec(),
            #[cfg(test)]
            crash: None,
        };
        cases.give_keys().await?;
        cases.reconcile().await?;
        Ok(cases)
    }

    /// Make an approval key for each active reviewer without one (a store made before keys), and stage its `account`
    /// entry (`key`); the caller reconciles. Removed reviewers approve nothing more, so they get none.
    async fn give_keys(&self) -> Result<(), CaseError> {
        let rows = sqlx::query("SELECT name, role, canonical FROM reviewers WHERE signing_seed IS NULL AND removed_at IS NULL").fetch_all(&self.pool).await?;
        for r in rows {
            let (name, role, canonical): (String, String, String) = (r.try_get("name")?, r.try_get("role")?, r.try_get("canonical")?);
            let role = Role::parse(&role).ok_or_else(|| corrupt("role", &role))?;
            let key = approval::new_key();
            let (key_id, public, seed) = key_columns(&key);
            let mut tx = self.pool.begin().await?;
            // Another process opening the store at once may have given this reviewer a key first.
            let done = sqlx::query("UPDATE reviewers SET key_id = $1, public_key = $2, signing_seed = $3 WHERE canonical = $4 AND signing_seed IS NULL")
                .bind(&key_id)
                .bind(&public)
                .bind(&seed)
                .bind(&canonical)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 1 {
                self.stage_entries(&mut tx, None, None, &[account_entry("key", &name, role, Some(&key_id), Some(&public), Utc::now())?]).await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    fn pseudonym(&self, tenant: &str) -> String {
        tlog::entry::pseudonym(&self.key, tenant)
    }

    async fn approvals(&self, case: &str) -> Result<Vec<String>, CaseError> {
        let rows = sqlx::query("SELECT reviewer FROM approvals WHERE case_id = $1 ORDER BY at, reviewer").bind(case).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(r.try_get("reviewer")?)).collect()
    }

    /// Put `name` on the reviewer roster with `role`, and make their approval key, published on the log in an
    /// `account` entry. The name is kept as given (trimmed) and matched by its key ([`identity::key`]); a name whose
    /// key is already on the roster, removed reviewers included, is refused. The reviewer has no password: they can
    /// sign in once [`Cases::set_password`] gives them one.
    pub async fn add_reviewer(&mut self, name: &str, role: Role) -> Result<Reviewer, CaseError> {
        let canonical = identity::key(name)?;
        let at = Utc::now();
        let key = approval::new_key();
        let (key_id, public, seed) = key_columns(&key);
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("INSERT INTO reviewers (canonical, name, role, created_at, removed_at, password_hash, key_id, public_key, signing_seed) VALUES ($1, $2, $3, $4, NULL, NULL, $5, $6, $7) ON CONFLICT (canonical) DO NOTHING")
            .bind(&canonical)
            .bind(name.trim())
            .bind(role.as_str())
            .bind(time(at))
            .bind(&key_id)
            .bind(&public)
            .bind(&seed)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            drop(tx);
            let existing = self.reviewer(name).await?;
            return Err(CaseError::ReviewerExists { name: name.to_string(), existing: existing.name, removed: existing.removed_at.is_some() });
        }
        self.stage_entries(&mut tx, None, None, &[account_entry("add", name.trim(), role, Some(&key_id), Some(&public), at)?]).await?;
        tx.commit().await?;
        self.reconcile().await.map_err(|e| CaseError::AccountUnlogged { name: name.trim().to_string(), source: Box::new(e) })?;
        self.reviewer(name).await
    }

    /// Every reviewer on the roster, removed ones included, in the order they were added.
    pub async fn list_reviewers(&self) -> Result<Vec<Reviewer>, CaseError> {
        let rows = sqlx::query(&format!("SELECT {REVIEWER_COLUMNS} FROM reviewers ORDER BY created_at, canonical")).fetch_all(&self.pool).await?;
        rows.iter().map(reviewer_from_row).collect()
    }

    /// The reviewer `name` (in any spelling with its key), removed or not.
    pub async fn reviewer(&self, name: &str) -> Result<Reviewer, CaseError> {
        let key = identity::key(name)?;
        let row = sqlx::query(&format!("SELECT {REVIEWER_COLUMNS} FROM reviewers WHERE canonical = $1")).bind(&key).fetch_optional(&self.pool).await?;
        reviewer_from_row(&row.ok_or_else(|| CaseError::UnknownReviewer(name.trim().to_string()))?)
    }

    /// Remove `name` (in any spelling with its key) from the roster: their past actions and approvals stand, new
    /// actions are refused, and so are their password, tokens and sessions. The row stays, so the name cannot come
    /// back as someone else. An `account` log entry (`remove`) says from when their key approves nothing.
    pub async fn remove_reviewer(&mut self, name: &str) -> Result<Reviewer, CaseError> {
        let r = self.reviewer(name).await?;
        if let Some(at) = r.removed_at {
            return Err(CaseError::RemovedReviewer { name: r.name, removed_at: time(at) });
        }
        let at = Utc::now();
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE reviewers SET removed_at = $1 WHERE canonical = $2 AND removed_at IS NULL")
            .bind(time(at))
            .bind(&r.key)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            drop(tx);
            let r = self.reviewer(name).await?;
            return Err(CaseError::RemovedReviewer { name: r.name, removed_at: r.removed_at.map(time).unwrap_or_default() });
        }
        let e = account_entry("remove", &r.name, r.role, r.key_id.as_deref(), None, at)?;
        self.stage_entries(&mut tx, None, None, &[e]).await?;
        tx.commit().await?;
        self.reconcile().await.map_err(|e| CaseError::AccountUnlogged { name: r.name.clone(), source: Box::new(e) })?;
        self.reviewer(name).await
    }

    /// The reviewer `name`, refused unless on the roster and not removed.
    async fn active_reviewer(&self, name: &str) -> Result<Reviewer, CaseError> {
        let r = self.reviewer(name).await?;
        match r.removed_at {
            Some(at) => Err(CaseError::RemovedReviewer { name: r.name, removed_at: time(at) }),
            None => Ok(r),
        }
    }

    /// The roster's row of a signed-in account, as it is now: refused if the reviewer was removed since, or if the
    /// account is another store's (its approval key is not this reviewer's).
    pub(crate) async fn acting(&self, account: &Account) -> Result<Reviewer, CaseError> {
        let Some((r, _)) = self.reviewer_with_hash(account.key()).await? else { return Err(CaseError::UnknownReviewer(account.name().to_string())) };
        if let Some(at) = r.removed_at {
            return Err(CaseError::RemovedReviewer { name: r.name, removed_at: time(at) });
        }
        if r.key_id.as_deref() != Some(account.key_id()) {
            return Err(CaseError::ForeignAccount(r.name));
        }
        Ok(r)
    }

    /// The approval key of the reviewer whose key is `canonical`.
    async fn approval_key(&self, canonical: &str) -> Result<SigningKey, CaseError> {
        let seed: Option<String> =
            sqlx::query("SELECT signing_seed FROM reviewers WHERE canonical = $1").bind(canonical).fetch_one(&self.pool).await?.try_get("signing_seed")?;
        let seed = seed.ok_or_else(|| CaseError::Corrupt(format!("reviewer {canonical:?} has no approval key")))?;
        let bytes: [u8; 32] = hex::decode(&seed).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| corrupt("approval key of", canonical))?;
        Ok(SigningKey::from_bytes(&bytes))
    }

    /// The conflict of a change to `case` made on `expected`: who made the case's latest change, and its version now.
    async fn conflict(&self, case: &str, expected: i64) -> CaseError {
        let last =
            sqlx::query("SELECT version, actor FROM transitions WHERE case_id = $1 ORDER BY version DESC LIMIT 1").bind(case).fetch_optional(&self.pool).await;
        let read = |r: AnyRow| -> Result<CaseError, CaseError> {
            Ok(CaseError::Conflict { case: case.to_string(), expected, by: r.try_get("actor")?, version: r.try_get("version")? })
        };
        match last {
            Ok(Some(r)) => read(r).unwrap_or_else(|e| e),
            Ok(None) => CaseError::UnknownCase(case.to_string()),
            Err(e) => e.into(),
        }
    }

    /// One case.
    pub async fn get(&self, id: &str) -> Result<Case, CaseError> {
        let row = sqlx::query(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = $1")).bind(id).fetch_optional(&self.pool).await?;
        let row = row.ok_or_else(|| CaseError::UnknownCase(id.to_string()))?;
        case_from_row(&row, self.approvals(id).await?)
    }

    /// Every case, oldest first; only those in `state` when given.
    pub async fn list(&self, state: Option<State>) -> Result<Vec<Case>, CaseError> {
        let rows = match state {
            Some(s) => sqlx::query(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE state = $1 ORDER BY seq")).bind(s.as_str()).fetch_all(&self.pool).await?,
            None => sqlx::query(&format!("SELECT {CASE_COLUMNS} FROM cases ORDER BY seq")).fetch_all(&self.pool).await?,
        };
        let mut approvals: HashMap<String, Vec<String>> = HashMap::new();
        for r in sqlx::query("SELECT case_id, reviewer FROM approvals ORDER BY at, reviewer").fetch_all(&self.pool).await? {
            approvals.entry(r.try_get("case_id")?).or_default().push(r.try_get("reviewer")?);
        }
        rows.iter().map(|r| case_from_row(r, approvals.remove(&r.try_get::<String, _>("id")?).unwrap_or_default())).collect()
    }

    /// Place findings: each joins the active case of its account (or organisation), or an enforced case it
    /// watches (its parent's or a sibling's), or opens a new case. All or nothing: a finding on an account the
    /// registry does not have refuses the whole batch. A finding a case already holds is not added again. Returns
    /// where each finding went, in the order given. `actor` is recorded as given, not looked up on the roster:
    /// placing findings is the scanner's work, not a review action.
    pub async fn add_findings(&mut self, findings: &[Finding], registry: &Registry, actor: &str, at: DateTime<Utc>) -> Result<Vec<Placement>, CaseError> {
        let actor = actor.trim();
        if actor.is_empty() {
            return Err(CaseError::Input("adding findings needs an actor".into()));
        }
        if let Some(f) = findings.iter().find(|f| registry.get(&f.account_id).is_none()) {
            return Err(CaseError::UnknownAccount(f.account_id.clone()));
        }
        let mut tx = self.pool.begin().await?;
        // Placing findings reads every active case: one placer at a time, so two cannot open a case each for one
        // account. The first statement writes, which takes the lock before anything is read.
        sqlx::query("UPDATE locks SET n = n + 1 WHERE name = 'cases'").execute(&mut *tx).await?;
        let mut active = Vec::new();
        for r in sqlx::query(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE state <> 'lifted' ORDER BY seq")).fetch_all(&mut *tx).await? {
            let c = case_from_row(&r, Vec::new())?;
            if c.is_active() {
                active.push(c);
            }
        }
        let mut seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS n FROM cases").fetch_one(&mut *tx).await?.try_get("n")?;
        // Per case, in first-seen order: whether it is new, and its findings with how each came.
        let mut groups: Vec<Group> = Vec::new();
        for (n, f) in findings.iter().enumerate() {
            let (id, how) = match route(f, registry, &active) {
                Target::Joined(id) => (id, "joined"),
                Target::Watch(id) => (id, "watch"),
                Target::New => {
                    seq += 1;
                    let id = format!("case-{seq:06}");
                    active.push(Case {
                        id: id.clone(),
                        subject: f.account_id.clone(),
                        subject_kind: f.scope,
                        parent_id: registry.parent_of(&f.account_id).map(str::to_string),
                        state: State::Open,
                        outcome: None,
                        unit: None,
                        services: vec![],
                        assignee: None,
                        approvals: vec![],
                        version: 0,
                        opened_at: at,
                        updated_at: at,
                    });
                    groups.push(Group { case: id.clone(), new: true, findings: Vec::new() });
                    (id, "opened")
                }
            };
            match groups.iter_mut().find(|g| g.case == id) {
                Some(g) => g.findings.push((n, f, how)),
                None => groups.push(Group { case: id, new: false, findings: vec![(n, f, how)] }),
            }
        }
        let mut placements: Vec<Option<Placement>> = vec![None; findings.len()];
        let mut changed = Vec::new();
        for Group { case: id, new, findings: list } in &groups {
            let case = active.iter().find(|c| &c.id == id).expect("every group's case is active");
            let mut held: BTreeSet<(String, String, i64, String)> = BTreeSet::new();
            for r in
                sqlx::query("SELECT account_id, policy_id, policy_version, as_of FROM case_findings WHERE case_id = $1").bind(id).fetch_all(&mut *tx).await?
            {
                held.insert((r.try_get("account_id")?, r.try_get("policy_id")?, r.try_get("policy_version")?, r.try_get("as_of")?));
            }
            let mut fresh = Vec::new();
            for (n, f, how) in list {
                let key = (f.account_id.clone(), f.policy.id.clone(), i64::from(f.policy.version), f.as_of.to_string());
                let how = if held.insert(key) {
                    fresh.push((*f, *how));
                    *how
                } else {
                    "duplicate"
                };
                placements[*n] = Some(Placement { account_id: f.account_id.clone(), policy_id: f.policy.id.clone(), as_of: f.as_of, case_id: id.clone(), how });
            }
            if fresh.is_empty() {
                continue;
            }
            changed.push(id.clone());
            self.record_findings(&mut tx, case, *new, &fresh, actor, at).await?;
        }
        tx.commit().await?;
        #[cfg(test)]
        self.crash_point(crate::outbox::Crash::AfterCommit)?;
        self.reconcile().await.map_err(|e| CaseError::Unlogged { case: changed.join(", "), source: Box::new(e) })?;
        Ok(placements.into_iter().map(|p| p.expect("every finding is placed")).collect())
    }

    /// Inside a placing transaction: open `case` (when `new`) or bump its version, and store its new findings,
    /// their transition and log entries.
    async fn record_findings(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        case: &Case,
        new: bool,
        fresh: &[(&Finding, &'static str)],
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        let version = case.version + 1;
        if new {
            sqlx::query(&format!("INSERT INTO cases ({CASE_COLUMNS}, seq) VALUES ($1, $2, $3, $4, $5, NULL, NULL, NULL, NULL, $6, $7, $8, $9)"))
                .bind(&case.id)
                .bind(&case.subject)
                .bind(case.subject_kind.as_str())
                .bind(case.parent_id.as_deref())
                .bind(State::Open.as_str())
                .bind(version)
                .bind(time(at))
                .bind(time(at))
                .bind(case.id.trim_start_matches("case-").parse::<i64>().map_err(|_| corrupt("case id", &case.id))?)
                .execute(&mut **tx)
                .await?;
        } else {
            let done = sqlx::query("UPDATE cases SET version = $1, updated_at = $2 WHERE id = $3 AND version = $4")
                .bind(version)
                .bind(time(at))
                .bind(&case.id)
                .bind(case.version)
                .execute(&mut **tx)
                .await?;
            if done.rows_affected() != 1 {
                return Err(self.conflict(&case.id, case.version).await);
            }
        }
        let policies: BTreeSet<&str> = fresh.iter().map(|(f, _)| f.policy.id.as_str()).collect();
        let reason = format!("{} finding(s): {}", fresh.len(), policies.into_iter().collect::<Vec<_>>().join(", "));
        let transition = uuid::Uuid::new_v4().to_string();
        let action = if new { "open" } else { "findings" };
        let from = (!new).then_some(case.state);
        let detail = json!({"findings": fresh.iter().map(|(f, how)| json!({"account_id": f.account_id, "policy": f.policy.id, "version": f.policy.version, "as_of": f.as_of.to_string(), "how": how})).collect::<Vec<_>>()});
        let logged =
            Logged { case, subject: self.pseudonym(&case.subject), transition: &transition, version, action, from, to: case.state, actor, at, reason: &reason };
        logged.insert(tx, &detail).await?;
        for (f, how) in fresh {
            let via = if *how == "watch" { "watch" } else { "subject" };
            sqlx::query("INSERT INTO case_findings (case_id, account_id, policy_id, policy_version, as_of, severity, via, body, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(&case.id)
                .bind(&f.account_id)
                .bind(&f.policy.id)
                .bind(i64::from(f.policy.version))
                .bind(f.as_of.to_string())
                .bind(&f.severity)
                .bind(via)
                .bind(serde_json::to_string(f).expect("findings serialise"))
                .bind(time(at))
                .execute(&mut **tx)
                .await?;
        }
        let mut entries = Vec::new();
        if new {
            entries.push(entry(&transition, 0, "decision", logged.fields())?);
        }
        for chunk in fresh.chunks(FINDINGS_PER_ENTRY) {
            let mut m = logged.fields();
            let list: Vec<Value> = chunk
                .iter()
                .map(|(f, how)| json!({"account": self.pseudonym(&f.account_id), "how": how, "policy": f.policy.id, "version": f.policy.version, "policy_sha256": f.policy.sha256, "as_of": f.as_of.to_string(), "severity": f.severity}))
                .collect();
            m.insert("findings".into(), list.into());
            entries.push(entry(&transition, entries.len() as i64, "finding", m)?);
        }
        self.stage_entries(tx, Some(&case.id), Some(&transition), &entries).await
    }

    /// After `day` was scanned again on restated data: every finding of `day` that a case holds, not yet withdrawn,
    /// and absent from `still` (the day's findings now, compared by account, policy and version) is withdrawn. It
    /// stays on its case, marked with the time and `reason`; the case gets a `withdraw` transition (its state
    /// unchanged), and the log a `finding` entry with `"how": "withdrawn"`. A finding is never dropped silently.
    /// Returns the findings withdrawn.
    pub async fn withdraw_findings(
        &mut self,
        day: chrono::NaiveDate,
        still: &[Finding],
        reason: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<Placement>, CaseError> {
        let (actor, reason) = (actor.trim(), reason.trim());
        if actor.is_empty() || reason.is_empty() {
            return Err(CaseError::Input("withdrawing findings needs an actor and a reason".into()));
        }
        let holds: BTreeSet<(&str, &str, i64)> = still.iter().map(|f| (f.account_id.as_str(), f.policy.id.as_str(), i64::from(f.policy.version))).collect();
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE locks SET n = n + 1 WHERE name = 'cases'").execute(&mut *tx).await?;
        let rows = sqlx::query(
            "SELECT case_id, account_id, policy_id, policy_version, severity FROM case_findings \
             WHERE as_of = $1 AND withdrawn_at IS NULL ORDER BY case_id, account_id, policy_id, policy_version",
        )
        .bind(day.to_string())
        .fetch_all(&mut *tx)
        .await?;
        // Per case, in order: the findings that no longer hold, as (account, policy, version, severity).
        type Gone = (String, String, i64, String);
        let mut gone: Vec<(String, Vec<Gone>)> = Vec::new();
        for r in rows {
            let (case, account, policy, version): (String, String, String, i64) =
                (r.try_get("case_id")?, r.try_get("account_id")?, r.try_get("policy_id")?, r.try_get("policy_version")?);
            if holds.contains(&(account.as_str(), policy.as_str(), version)) {
                continue;
            }
            let item = (account, policy, version, r.try_get("severity")?);
            match gone.last_mut() {
                Some((c, list)) if *c == case => list.push(item),
                _ => gone.push((case, vec![item])),
            }
        }
        let mut out = Vec::new();
        for (id, list) in &gone {
            let r = sqlx::query(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = $1")).bind(id).fetch_one(&mut *tx).await?;
            let case = case_from_row(&r, Vec::new())?;
            let version = case.version + 1;
            let done = sqlx::query("UPDATE cases SET version = $1, updated_at = $2 WHERE id = $3 AND version = $4")
                .bind(version)
                .bind(time(at))
                .bind(id)
                .bind(case.version)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() != 1 {
                return Err(self.conflict(id, case.version).await);
            }
            for (account, policy, v, _) in list {
                sqlx::query(
                    "UPDATE case_findings SET withdrawn_at = $1, withdrawn_reason = $2 \
                     WHERE case_id = $3 AND account_id = $4 AND policy_id = $5 AND policy_version = $6 AND as_of = $7",
                )
                .bind(time(at))
                .bind(reason)
                .bind(id)
                .bind(account)
                .bind(policy)
                .bind(v)
                .bind(day.to_string())
                .execute(&mut *tx)
                .await?;
                out.push(Placement { account_id: account.clone(), policy_id: policy.clone(), as_of: day, case_id: id.clone(), how: "withdrawn" });
            }
            let transition = uuid::Uuid::new_v4().to_string();
            let why = format!("{} finding(s) of {day} withdrawn: {reason}", list.len());
            let logged = Logged {
                case: &case,
                subject: self.pseudonym(&case.subject),
                transition: &transition,
                version,
                action: "withdraw",
                from: Some(case.state),
                to: case.state,
                actor,
                at,
                reason: &why,
            };
            let detail = json!({"findings": list.iter().map(|(a, p, v, _)| json!({"account_id": a, "policy": p, "version": v, "as_of": day.to_string(), "how": "withdrawn"})).collect::<Vec<_>>()});
            logged.insert(&mut tx, &detail).await?;
            let mut entries = Vec::new();
            for chunk in list.chunks(FINDINGS_PER_ENTRY) {
                let mut m = logged.fields();
                let items: Vec<Value> = chunk
                    .iter()
                    .map(|(a, p, v, severity)| json!({"account": self.pseudonym(a), "how": "withdrawn", "policy": p, "version": v, "as_of": day.to_string(), "severity": severity}))
                    .collect();
                m.insert("findings".into(), items.into());
                entries.push(entry(&transition, entries.len() as i64, "finding", m)?);
            }
            self.stage_entries(&mut tx, Some(id), Some(&transition), &entries).await?;
        }
        tx.commit().await?;
        if !gone.is_empty() {
            let changed: Vec<&str> = gone.iter().map(|(c, _)| c.as_str()).collect();
            self.reconcile().await.map_err(|e| CaseError::Unlogged { case: changed.join(", "), source: Box::new(e) })?;
        }
        Ok(out)
    }

    /// Take `action` on a case as `act.actor`, a signed-in account. The change, its transition (actor, time,
    /// reason) and its log entries commit together, then the entries are appended to the log. A refused action (see
    /// [`CaseError::is_refusal`]) writes nothing; a case changed since it was read is a [`CaseError::Conflict`]
    /// naming who changed it.
    ///
    /// The actor must still be on the roster, and the reviewer an `assign` names too (matched by their key, any
    /// spelling of the name); the actor's role on the roster now must allow the action (see [`Role`]: an auditor
    /// takes none). The transition, the approval and the log record the name as registered, so the two-person rule
    /// compares accounts, not spellings. An approval's log entry is signed with the approver's key
    /// ([`crate::approval`]).
    pub async fn apply(&mut self, case_id: &str, act: &Act, action: Action) -> Result<Applied, CaseError> {
        if act.reason.trim().is_empty() {
            return Err(CaseError::Input(format!("{} needs a reason", action.name())));
        }
        let who = self.acting(&act.actor).await?;
        if !who.role.may(&action) {
            return Err(CaseError::NotPermitted { reviewer: who.name, role: who.role, action: action.name().into(), needs: Role::needed_for(&action) });
        }
        let actor = who.name.as_str();
        let case = self.get(case_id).await?;
        if let Some(v) = act.expect_version
            && v != case.version
        {
            return Err(self.conflict(&case.id, v).await);
        }
        let mut next = machine::step(&case, actor, &action)?;
        if let Action::Assign { reviewer } = &action {
            // After the state machine, so a closed case says so whoever is named.
            let assignee = self.active_reviewer(reviewer).await?;
            if !assignee.role.reviews() {
                return Err(CaseError::NotPermitted {
                    reviewer: assignee.name,
                    role: assignee.role,
                    action: format!("be assigned {}", case.id),
                    needs: Role::needed_for(&action),
                });
            }
            next.assignee = Some(assignee.name);
        }
        if let (Action::Decide(_), Some(outcome), Some(unit)) = (&action, next.outcome, &next.unit) {
            // Check the unit now (its ids, its provider's rules), not only when the documents are issued.
            let trial = Case { outcome: Some(outcome), unit: Some(unit.clone()), services: next.services.clone(), ..case.clone() };
            enforce::documents(&enforce_decision(&trial, vec!["first reviewer".into(), "second reviewer".into()], act.at)?)?;
        }
        let documents = match action {
            Action::Enforce => enforce::documents(&self.decision(&case).await?)?,
            _ => Vec::new(),
        };
        let approver = match action {
            Action::Approve => Some(self.approval_key(&who.key).await?),
            _ => None,
        };
        let transition = uuid::Uuid::new_v4().to_string();
        let version = case.version + 1;
        let mut tx = self.pool.begin().await?;
        // Compare-and-set on the version, first in the transaction: a concurrent change makes it match no row.
        let done = sqlx::query(
            "UPDATE cases SET state = $1, outcome = $2, unit = $3, services = $4, assignee = $5, version = $6, updated_at = $7 WHERE id = $8 AND version = $9",
        )
        .bind(next.state.as_str())
        .bind(next.outcome.map(|o| o.as_str()))
        .bind(next.unit.as_ref().map(|u| serde_json::to_string(u).expect("units serialise")))
        .bind(serde_json::to_string(&next.services).expect("families serialise"))
        .bind(next.assignee.as_deref())
        .bind(version)
        .bind(time(act.at))
        .bind(&case.id)
        .bind(case.version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(self.conflict(&case.id, case.version).await);
        }
        let detail = match &action {
            Action::Assign { .. } => json!({"assignee": next.assignee}),
            Action::Decide(_) => json!({"outcome": next.outcome, "unit": next.unit, "services": next.services}),
            Action::Approve => json!({"approvals": next.approvals}),
            Action::Enforce => {
                json!({"documents": documents.iter().map(|d| json!({"file_name": d.file_name, "sha256": d.sha256})).collect::<Vec<_>>()})
            }
            Action::Lift => json!({}),
        };
        let logged = Logged {
            case: &case,
            subject: self.pseudonym(&case.subject),
            transition: &transition,
            version,
            action: action.name(),
            from: Some(case.state),
            to: next.state,
            actor,
            at: act.at,
            reason: &act.reason,
        };
        logged.insert(&mut tx, &detail).await?;
        if action == Action::Approve {
            sqlx::query("INSERT INTO approvals (case_id, reviewer, transition_id, at) VALUES ($1, $2, $3, $4)")
                .bind(&case.id)
                .bind(actor)
                .bind(&transition)
                .bind(time(act.at))
                .execute(&mut *tx)
                .await?;
        }
        for (position, d) in documents.iter().enumerate() {
            sqlx::query("INSERT INTO documents (case_id, position, file_name, provider, kind, sha256, json, summary, transition_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(&case.id)
                .bind(position as i64)
                .bind(&d.file_name)
                .bind(d.provider.as_str())
                .bind(d.kind.as_str())
                .bind(&d.sha256)
                .bind(&d.json)
                .bind(&d.summary)
                .bind(&transition)
                .execute(&mut *tx)
                .await?;
        }
        let entries = transition_entries(&logged, &action, &next, &documents, approver.as_ref())?;
        self.stage_entries(&mut tx, Some(&case.id), Some(&transition), &entries).await?;
        tx.commit().await?;
        #[cfg(test)]
        self.crash_point(crate::outbox::Crash::AfterCommit)?;
        self.reconcile().await.map_err(|e| CaseError::Unlogged { case: case.id.clone(), source: Box::new(e) })?;
        Ok(Applied { case: self.get(&case.id).await?, documents })
    }

    /// The enforce crate's decision for an approved case, decided when its last approval came.
    async fn decision(&self, case: &Case) -> Result<enforce::Decision, CaseError> {
        let mut decided_at = None;
        for r in sqlx::query("SELECT at FROM approvals WHERE case_id = $1").bind(&case.id).fetch_all(&self.pool).await? {
            decided_at = decided_at.max(Some(parse_time(&r.try_get::<String, _>("at")?)?));
        }
        let decided_at = decided_at.ok_or_else(|| CaseError::Corrupt(format!("case {} is approved without approvals", case.id)))?;
        enforce_decision(case, case.approvals.clone(), decided_at)
    }

    /// Everything about one case: its findings, its transitions with their log entries and proofs, and its
    /// enforcement documents.
    pub async fn show(&self, id: &str) -> Result<CaseRecord, CaseError> {
        let case = self.get(id).await?;
        let mut findings = Vec::new();
        for r in sqlx::query(
            "SELECT via, body, added_at, withdrawn_at, withdrawn_reason FROM case_findings WHERE case_id = $1 ORDER BY added_at, as_of, account_id, policy_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        {
            let body: String = r.try_get("body")?;
            findings.push(CaseFinding {
                via: r.try_get("via")?,
                added_at: parse_time(&r.try_get::<String, _>("added_at")?)?,
                finding: serde_json::from_str(&body).map_err(|_| corrupt("finding", &body))?,
                withdrawn: match r.try_get::<Option<String>, _>("withdrawn_at")? {
                    Some(at) => Some(Withdrawal { at: parse_time(&at)?, reason: r.try_get::<Option<String>, _>("withdrawn_reason")?.unwrap_or_default() }),
                    None => None,
                },
            });
        }
        let mut entries: HashMap<String, Vec<LoggedEntry>> = HashMap::new();
        for r in sqlx::query("SELECT id, transition_id, kind, body, log_index, proof FROM log_entries WHERE case_id = $1 ORDER BY part")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
        {
            let proof: Option<String> = r.try_get("proof")?;
            let proof: Option<EntryProof> = proof.map(|p| serde_json::from_str(&p).map_err(|_| corrupt("proof", &p))).transpose()?;
            let index: Option<i64> = r.try_get("log_index")?;
            entries.entry(r.try_get("transition_id")?).or_default().push(LoggedEntry {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                body: r.try_get("body")?,
                index: index.map(|i| i as u64),
                proof,
            });
        }
        let mut history = Vec::new();
        for r in sqlx::query("SELECT id, version, action, from_state, to_state, actor, at, reason, detail FROM transitions WHERE case_id = $1 ORDER BY version")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
        {
            let tid: String = r.try_get("id")?;
            let from: Option<String> = r.try_get("from_state")?;
            let to: String = r.try_get("to_state")?;
            let detail: String = r.try_get("detail")?;
            history.push(Transition {
                entries: entries.remove(&tid).unwrap_or_default(),
                id: tid,
                version: r.try_get("version")?,
                action: r.try_get("action")?,
                from: from.map(|s| State::parse(&s).ok_or_else(|| corrupt("state", &s))).transpose()?,
                to: State::parse(&to).ok_or_else(|| corrupt("state", &to))?,
                actor: r.try_get("actor")?,
                at: parse_time(&r.try_get::<String, _>("at")?)?,
                reason: r.try_get("reason")?,
                detail: serde_json::from_str(&detail).map_err(|_| corrupt("detail", &detail))?,
            });
        }
        let mut documents = Vec::new();
        for r in sqlx::query("SELECT file_name, provider, kind, sha256, json, summary FROM documents WHERE case_id = $1 ORDER BY position")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
        {
            documents.push(IssuedDocument {
                file_name: r.try_get("file_name")?,
                provider: r.try_get("provider")?,
                kind: r.try_get("kind")?,
                sha256: r.try_get("sha256")?,
                summary: r.try_get("summary")?,
                json: r.try_get("json")?,
            });
        }
        Ok(CaseRecord { case, findings, history, documents })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store made before the roster (migration 0001 only) opens, gets the roster and accounts, and keeps its cases
    /// and its logged entries through the rebuild of `log_entries`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn open_brings_an_older_store_up_to_date() {
        let tmp = tempfile::tempdir().unwrap();
        for (name, url) in crate::fixtures::backends(tmp.path()).await {
            sqlx::any::install_default_drivers();
            if name == "sqlite" {
                create_private(Path::new(&url)).unwrap();
            }
            let pool = AnyPoolOptions::new().connect(&crate::db_url(&url)).await.unwrap();
            let mut first = Migrator::new(Embedded).await.unwrap();
            first.migrations = Cow::Owned(first.migrations[..1].to_vec());
            first.run(&pool).await.unwrap();
            let t = "2025-01-01T00:00:00.000000Z";
            for sql in [
                format!("INSERT INTO cases (id, seq, subject, subject_kind, state, version, opened_at, updated_at) VALUES ('case-000001', 1, 'sub', 'account', 'open', 1, '{t}', '{t}')"),
                format!("INSERT INTO transitions (id, case_id, version, action, to_state, actor, at, reason, detail) VALUES ('t', 'case-000001', 1, 'open', 'open', 'scan', '{t}', 'r', '{{}}')"),
                "INSERT INTO log_entries (id, transition_id, case_id, part, kind, body, created_seq, log_size_hint, log_index, proof) VALUES ('t.0', 't', 'case-000001', 0, 'decision', '{\"a\":1}', 1, 0, 0, '{}')".into(),
            ] {
                sqlx::query(&sql).execute(&pool).await.unwrap();
            }
            pool.close().await;
            let storage = tlog::storage::MemStorage::new();
            Log::create_in(storage.clone(), "example.org/old", &[3; 32]).unwrap();
            let mut cases = Cases::open(&url, move || Log::open_in(storage.clone()), b"key").await.unwrap();
            cases.add_reviewer("ann", Role::Approver).await.unwrap_or_else(|e| panic!("{name}: {e}"));
            let kept = sqlx::query("SELECT transition_id, case_id, body, log_index FROM log_entries WHERE id = 't.0'").fetch_one(&cases.pool).await.unwrap();
            let kept: (String, String, String, Option<i64>) = (kept.get(0), kept.get(1), kept.get(2), kept.get(3));
            assert_eq!(kept, ("t".into(), "case-000001".into(), "{\"a\":1}".into(), Some(0)), "{name}");
            assert_eq!(cases.get("case-000001").await.unwrap().version, 1);
            assert_eq!(Cases::init(&url).await.unwrap(), Init::Existing, "{name}");
        }
    }
}

//! Accounts: a reviewer on the roster signs in, and only a signed-in [`Account`] acts on cases.
//!
//! - Passwords: [`Cases::set_password`] stores an argon2id hash as a PHC string (OWASP's cost: m = 19 MiB, t = 2,
//!   p = 1; a random 16-byte salt). [`Cases::authenticate`] checks one with the argon2 verifier (constant-time). An
//!   unknown name, a wrong password, a reviewer without a password and a removed reviewer all get
//!   [`AuthError::Refused`] after the same work: a name without a hash is checked against a dummy hash of the same
//!   cost. A reviewer added without a password, or before passwords existed, cannot sign in until one is set.
//! - Tokens: [`Cases::issue_token`] gives a signed-in account a random bearer token, returned once; the store keeps
//!   its SHA-256. [`Cases::authenticate_token`] signs in with it, [`Cases::revoke_token`] ends it.
//! - Sessions, for the web console: [`Cases::create_session`] returns a random 256-bit session id and its CSRF token.
//!   The store keeps only the id's SHA-256; the CSRF token is derived from the id, so neither is at rest.
//!   [`Cases::session`] looks a session up (none once expired), [`Cases::end_session`] ends it.
//! - Every attempt (password, token, session creation) is on record ([`Cases::sign_ins`]), and failures throttle:
//!   after [`FAILURES_PER_NAME`] failed passwords for one name since its last successful password, or
//!   [`FAILURES_PER_ADDRESS`] failures from one address, within [`THROTTLE_WINDOW`], an attempt is refused with
//!   [`AuthError::Throttled`] without looking at the password. Anyone can so lock a name out for the window: the
//!   price of not letting anyone guess its password.
//!
//! Every call takes its time ([`Attempt::at`]), as actions do, so tests need no clock. Managing the roster (adding
//! reviewers, setting passwords) is not checked here: the command line holds the database, and the web console is
//! to allow it to `admin` accounts.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;
use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;

use crate::store::{parse_time, sha256_hex, time};
use crate::{CaseError, Cases, Reviewer, Role, identity};

/// The shortest password accepted, in characters: NIST SP 800-63B-4's minimum for a password that is the only factor.
pub const MIN_PASSWORD_CHARS: usize = 15;
/// The longest password accepted, in characters (hashing reads all of it).
pub const MAX_PASSWORD_CHARS: usize = 1024;
/// Failed passwords for one name, since its last successful one and within [`THROTTLE_WINDOW`], that throttle it.
pub const FAILURES_PER_NAME: usize = 5;
/// Failed attempts from one address within [`THROTTLE_WINDOW`] that throttle it.
pub const FAILURES_PER_ADDRESS: usize = 20;
/// The sliding window failures are counted in.
pub const THROTTLE_WINDOW: TimeDelta = TimeDelta::minutes(15);
/// The longest source address kept, in characters.
const MAX_ADDRESS_CHARS: usize = 100;
/// The longest token label, in characters.
const MAX_LABEL_CHARS: usize = 100;
/// What every bearer token starts with, so a leaked one is recognisable (secret scanners, logs).
const TOKEN_PREFIX: &str = "ovt_";
/// OWASP's first argon2id configuration, pinned here so an upgrade of the crate cannot change it unnoticed.
const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
const ARGON2_ITERATIONS: u32 = 2;
const ARGON2_LANES: u32 = 1;
/// An argon2id hash, at the cost above, of a random password nobody kept: a name without a hash is checked against
/// it, so an unknown name takes as long as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$XgmqG9tc4+Vn12apvaKKCw$00XhXYaXuIySRvxzTk31tnUhOfKvWyfmIi9poCvtbm0";

fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_LANES, None).expect("valid argon2 parameters"))
}

/// A signed-in reviewer. Only [`Cases::authenticate`], [`Cases::authenticate_token`] and [`Cases::session`] make
/// one, so whoever holds an `Account` proved who they are; actions ([`crate::Act`]) take one instead of a name. Two
/// accounts are one person exactly when their keys are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    name: String,
    key: String,
    role: Role,
    key_id: String,
}

impl Account {
    /// The account of a roster row: none for a removed reviewer or one without an approval key.
    pub(crate) fn of(r: &Reviewer) -> Option<Account> {
        if r.removed_at.is_some() {
            return None;
        }
        Some(Account { name: r.name.clone(), key: r.key.clone(), role: r.role, key_id: r.key_id.clone()? })
    }

    /// The name as registered.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name's canonical key ([`identity::key`]): the account's identity.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The role when the account signed in (an action checks the roster's role at the time).
    pub fn role(&self) -> Role {
        self.role
    }

    /// The id of the account's approval key ([`crate::approval::key_id`]).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

/// When and from where a sign-in attempt comes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The client's address (an IP address, as the server saw it), if there is one: failures from it are counted.
    pub address: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

impl Attempt {
    /// An attempt now, from `address`.
    pub fn now(address: Option<&str>) -> Attempt {
        Attempt { address: address.map(str::to_string), at: Utc::now() }
    }
}

/// Why a sign-in was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The name is unknown, the password wrong, or the reviewer has no password (or was removed). Which one is not
    /// said, so the answer does not tell who is on the roster; the sign-in audit ([`Cases::sign_ins`]) does.
    #[error("sign-in refused: the name or password is wrong, or this name has no password yet (an admin sets one)")]
    Refused,
    /// The token is unknown, revoked or expired, or its reviewer was removed.
    #[error("the token is not valid (unknown, revoked or expired): sign in with your password and issue a new one")]
    BadToken,
    /// Too many failures for this name or from this address lately; nothing was checked.
    #[error("too many failed sign-ins for this name or from this address: try again in {} s", retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0))]
    Throttled {
        /// How long until an attempt is looked at again.
        retry_after: std::time::Duration,
    },
    /// The store failed, or refused the request (a removed reviewer's session, a bad duration).
    #[error(transparent)]
    Store(#[from] CaseError),
}

impl From<sqlx::Error> for AuthError {
    fn from(e: sqlx::Error) -> AuthError {
        AuthError::Store(e.into())
    }
}

/// How a sign-in was attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignInMethod {
    /// A name and password.
    Password,
    /// A bearer token.
    Token,
    /// A web console session made for a signed-in account.
    Session,
}

impl SignInMethod {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::Password => "password",
            SignInMethod::Token => "token",
            SignInMethod::Session => "session",
        }
    }

    fn parse(s: &str) -> Option<SignInMethod> {
        [SignInMethod::Password, SignInMethod::Token, SignInMethod::Session].into_iter().find(|m| m.as_str() == s)
    }
}

/// What came of a sign-in attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignInOutcome {
    /// Signed in.
    Accepted,
    /// Refused: a wrong password, an unknown name or token, a removed reviewer ([`SignIn::detail`] says which).
    Refused,
    /// Refused without checking: too many failures lately.
    Throttled,
}

impl SignInOutcome {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInOutcome::Accepted => "accepted",
            SignInOutcome::Refused => "refused",
            SignInOutcome::Throttled => "throttled",
        }
    }

    fn parse(s: &str) -> Option<SignInOutcome> {
        [SignInOutcome::Accepted, SignInOutcome::Refused, SignInOutcome::Throttled].into_iter().find(|m| m.as_str() == s)
    }
}

/// One sign-in attempt, as the audit keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignIn {
    /// When.
    pub at: DateTime<Utc>,
    /// How.
    pub method: SignInMethod,
    /// The name as given (password), or the token's or session's reviewer; invisible and control characters are
    /// written `\u{…}`, and a long name is cut. None for a token that matched nothing.
    pub name: Option<String>,
    /// The client's address, escaped the same way, if given.
    pub address: Option<String>,
    /// What came of it.
    pub outcome: SignInOutcome,
    /// Why, for the audit only (`wrong password`, `no such reviewer`, `token … expired`, ...).
    pub detail: String,
}

/// A new bearer token. `token` is shown this once: the store keeps only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The token's id, to list and revoke it by.
    pub id: String,
    /// The token (`ovt_` and 43 base64url characters: 256 random bits).
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A bearer token as the store keeps it (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Its id.
    pub id: String,
    /// Its reviewer, as registered.
    pub name: String,
    /// What it is for, as given when issued.
    pub label: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new web console session: the id goes in the session cookie, the CSRF token in the pages' forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The session id: 256 random bits, base64url. The store keeps only its SHA-256.
    pub id: String,
    /// The session's CSRF token (see [`Session::csrf_matches`]).
    pub csrf: String,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
}

/// A live web console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Who is signed in, with their role on the roster now.
    pub account: Account,
    /// The CSRF token a form must send back.
    pub csrf: String,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
}

impl Session {
    /// Whether `given` is this session's CSRF token (a constant-time comparison).
    pub fn csrf_matches(&self, given: &str) -> bool {
        self.csrf.as_bytes().ct_eq(given.as_bytes()).into()
    }
}

/// The CSRF token of a session: derived from its id (so the store need not keep it), and telling nothing about it.
fn csrf_of(session_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"oversight console csrf v1\0");
    h.update(session_id.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

/// 32 random bytes, base64url.
fn random_secret() -> String {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).expect("the operating system's random number generator works");
    URL_SAFE_NO_PAD.encode(b)
}

/// `s` cut to `max` characters, with what the roster refuses in a name (control, format, invisible characters,
/// whitespace other than a space) and backslashes written `\u{…}`: an audit row shows exactly what was typed, and
/// cannot hide or fake anything on a terminal.
fn escape(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars().take(max) {
        if c == '\\' || identity::refused(c).is_some() {
            out.push_str(&format!("\\u{{{:04x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

/// A password as it is hashed: NFKC (NIST SP 800-63B-4), so the same password typed on two keyboards is one.
fn normalise(password: &str) -> String {
    password.nfkc().collect()
}

/// The argon2id PHC string of `password`, off the async threads (it takes tens of milliseconds by design).
async fn hash(password: String) -> Result<String, CaseError> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).expect("the operating system's random number generator works");
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt).expect("16 bytes are a valid salt");
        hasher().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| CaseError::Input(format!("hashing the password: {e}")))
    })
    .await
    .expect("the password hashing task does not panic")
}

/// Whether `password` matches the PHC string `phc` (its own algorithm and cost), off the async threads; `Err` when
/// `phc` cannot be read.
async fn verify(password: String, phc: String) -> Result<bool, String> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&phc).map_err(|e| e.to_string())?;
        match hasher().verify_password(password.as_bytes(), &parsed) {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::Password) => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    })
    .await
    .expect("the password check does not panic")
}

/// One attempt on its way to the audit.
struct Audit {
    method: SignInMethod,
    name: Option<String>,
    /// The key failed passwords are counted under; none for tokens and sessions, so a script with a stale token
    /// cannot lock its owner's password out, nor a token's success reset the count of guessed passwords.
    name_key: Option<String>,
    address: Option<String>,
    at: DateTime<Utc>,
}

impl Audit {
    fn new(method: SignInMethod, attempt: &Attempt) -> Audit {
        Audit { method, name: None, name_key: None, address: attempt.address.as_deref().map(|a| escape(a.trim(), MAX_ADDRESS_CHARS)), at: attempt.at }
    }
}

fn token_from_row(r: &AnyRow) -> Result<TokenInfo, CaseError> {
    let revoked_at: Option<String> = r.try_get("revoked_at")?;
    Ok(TokenInfo {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        label: r.try_get("label")?,
        created_at: parse_time(&r.try_get::<String, _>("created_at")?)?,
        expires_at: parse_time(&r.try_get::<String, _>("expires_at")?)?,
        revoked_at: revoked_at.map(|t| parse_time(&t)).transpose()?,
    })
}

const TOKEN_COLUMNS: &str = "t.id, r.name, t.label, t.created_at, t.expires_at, t.revoked_at, t.account";

impl Cases {
    /// Record an attempt in the audit.
    async fn record(&self, a: &Audit, outcome: SignInOutcome, detail: &str) -> Result<(), CaseError> {
        sqlx::query("INSERT INTO sign_ins (id, at, method, name, name_key, address, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(time(a.at))
            .bind(a.method.as_str())
            .bind(a.name.as_deref())
            .bind(a.name_key.as_deref())
            .bind(a.address.as_deref())
            .bind(outcome.as_str())
            .bind(detail)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// How long until `a` may be looked at, if its name or address is throttled now; the throttled attempt is
    /// recorded (it does not count as a failure, so the window ends for whoever stops trying).
    async fn throttle(&self, a: &Audit) -> Result<Option<AuthError>, CaseError> {
        let (now, window_start) = (time(a.at), time(a.at - THROTTLE_WINDOW));
        let mut wait = TimeDelta::zero();
        let mut why = Vec::new();
        if let Some(key) = &a.name_key {
            let last: Option<String> =
                sqlx::query("SELECT MAX(at) AS at FROM sign_ins WHERE name_key = $1 AND method = 'password' AND outcome = 'accepted' AND at <= $2")
                    .bind(key)
                    .bind(&now)
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("at")?;
            let from = last.filter(|l| *l > window_start).unwrap_or_else(|| window_start.clone());
            let sql = "SELECT at FROM sign_ins WHERE name_key = $1 AND method = 'password' AND outcome = 'refused' AND at > $2 AND at <= $3 ORDER BY at DESC LIMIT $4";
            if let Some(w) = self.window_wait(sql, key, &from, &now, FAILURES_PER_NAME, a.at).await? {
                wait = wait.max(w);
                why.push(format!("{FAILURES_PER_NAME} failed passwords for this name"));
            }
        }
        if let Some(address) = &a.address {
            let sql = "SELECT at FROM sign_ins WHERE address = $1 AND outcome = 'refused' AND at > $2 AND at <= $3 ORDER BY at DESC LIMIT $4";
            if let Some(w) = self.window_wait(sql, address, &window_start, &now, FAILURES_PER_ADDRESS, a.at).await? {
                wait = wait.max(w);
                why.push(format!("{FAILURES_PER_ADDRESS} failures from this address"));
            }
        }
        if why.is_empty() {
            return Ok(None);
        }
        let minutes = THROTTLE_WINDOW.num_minutes();
        self.record(a, SignInOutcome::Throttled, &format!("{} within {minutes} minutes", why.join(" and "))).await?;
        Ok(Some(AuthError::Throttled { retry_after: wait.to_std().unwrap_or_default() }))
    }

    /// With the failures `sql` selects (newest first, at most `limit`): how long from `now` until fewer than `limit`
    /// of them are in the window, if `limit` are.
    async fn window_wait(&self, sql: &str, key: &str, from: &str, to: &str, limit: usize, now: DateTime<Utc>) -> Result<Option<TimeDelta>, CaseError> {
        let rows = sqlx::query(sql).bind(key).bind(from).bind(to).bind(limit as i64).fetch_all(&self.pool).await?;
        let Some(oldest) = rows.get(limit - 1) else { return Ok(None) };
        Ok(Some(parse_time(&oldest.try_get::<String, _>("at")?)? + THROTTLE_WINDOW - now))
    }

    /// The reviewer whose key is `key`, with their password hash.
    pub(crate) async fn reviewer_with_hash(&self, key: &str) -> Result<Option<(Reviewer, Option<String>)>, CaseError> {
        let row =
            sqlx::query(&format!("SELECT {} FROM reviewers WHERE canonical = $1", crate::store::REVIEWER_COLUMNS)).bind(key).fetch_optional(&self.pool).await?;
        row.map(|r| Ok((crate::store::reviewer_from_row(&r)?, r.try_get("password_hash")?))).transpose()
    }

    /// Set the password of `name` (any spelling with its key): at least [`MIN_PASSWORD_CHARS`] characters, kept as an
    /// argon2id hash. It ends the reviewer's web console sessions; their tokens stay (revoke them with
    /// [`Cases::revoke_token`]). A removed reviewer gets none.
    pub async fn set_password(&self, name: &str, password: &str) -> Result<Reviewer, CaseError> {
        let r = self.reviewer(name).await?;
        if let Some(at) = r.removed_at {
            return Err(CaseError::RemovedReviewer { name: r.name, removed_at: time(at) });
        }
        let password = normalise(password);
        let chars = password.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(CaseError::Input(format!("a password needs at least {MIN_PASSWORD_CHARS} characters; this one has {chars}")));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(CaseError::Input(format!("a password may have at most {MAX_PASSWORD_CHARS} characters; this one has {chars}")));
        }
        let phc = hash(password).await?;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE reviewers SET password_hash = $1 WHERE canonical = $2 AND removed_at IS NULL")
            .bind(&phc)
            .bind(&r.key)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            drop(tx);
            let r = self.reviewer(name).await?;
            return Err(CaseError::RemovedReviewer { name: r.name, removed_at: r.removed_at.map(time).unwrap_or_default() });
        }
        sqlx::query("DELETE FROM sessions WHERE account = $1").bind(&r.key).execute(&mut *tx).await?;
        tx.commit().await?;
        self.reviewer(name).await
    }

    /// Sign in with a name (any spelling with its key) and password. Every attempt is recorded; see the module
    /// documentation for throttling and for why every refusal is the same [`AuthError::Refused`].
    pub async fn authenticate(&self, name: &str, password: &str, attempt: &Attempt) -> Result<Account, AuthError> {
        let key = identity::key(name);
        let shown = escape(name.trim(), identity::MAX_CHARS);
        let mut audit = Audit::new(SignInMethod::Password, attempt);
        audit.name = Some(shown.clone());
        audit.name_key = Some(key.as_ref().map_or(shown, String::clone));
        if let Some(refused) = self.throttle(&audit).await? {
            return Err(refused);
        }
        let found = match &key {
            Ok(k) => self.reviewer_with_hash(k).await?,
            Err(_) => None,
        };
        let stored = found.as_ref().and_then(|(_, h)| h.clone());
        let candidate = normalise(password);
        let too_long = candidate.chars().count() > MAX_PASSWORD_CHARS;
        // The same work whatever is wrong: a missing hash is the dummy's, an over-long password checks as empty.
        let candidate = if too_long { String::new() } else { candidate };
        let checked = verify(candidate, stored.clone().unwrap_or_else(|| DUMMY_HASH.to_string())).await;
        let refusal = match (&key, &found, &stored, checked) {
            (Err(_), ..) => Some("not a valid reviewer name".to_string()),
            (_, None, ..) => Some("no such reviewer".into()),
            (_, Some((r, _)), ..) if r.removed_at.is_some() => Some("removed from the roster".into()),
            (_, _, None, _) => Some("no password set".into()),
            (.., Err(e)) => Some(format!("the stored password hash is unreadable ({e}): set the password again")),
            _ if too_long => Some("password too long".into()),
            (.., Ok(false)) => Some("wrong password".into()),
            _ => None,
        };
        let account = found.as_ref().and_then(|(r, _)| Account::of(r));
        match (refusal, account) {
            (None, Some(account)) => {
                self.record(&audit, SignInOutcome::Accepted, "password").await?;
                Ok(account)
            }
            (why, _) => {
                self.record(&audit, SignInOutcome::Refused, &why.unwrap_or_else(|| "no approval key yet: open the store to make one".into())).await?;
                Err(AuthError::Refused)
            }
        }
    }

    /// Issue `account` a bearer token for `label` (where it is used: `laptop CLI`), valid until `expires_at`. The
    /// token is in the answer only: keep it like a password.
    pub async fn issue_token(&self, account: &Account, label: &str, expires_at: DateTime<Utc>, at: DateTime<Utc>) -> Result<IssuedToken, CaseError> {
        let r = self.acting(account).await?;
        let label = label.trim();
        if label.is_empty() {
            return Err(CaseError::Input("a token needs a label saying where it is used (`laptop CLI`)".into()));
        }
        if expires_at <= at {
            return Err(CaseError::Input(format!("a token must expire after it is issued ({}), not at {}", time(at), time(expires_at))));
        }
        let token = format!("{TOKEN_PREFIX}{}", random_secret());
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query("INSERT INTO tokens (id, account, label, sha256, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)")
            .bind(&id)
            .bind(&r.key)
            .bind(escape(label, MAX_LABEL_CHARS))
            .bind(sha256_hex(&token))
            .bind(time(at))
            .bind(time(expires_at))
            .execute(&self.pool)
            .await?;
        Ok(IssuedToken { id, token, expires_at })
    }

    /// Sign in with a bearer token. Every attempt is recorded; failures count against the address only.
    pub async fn authenticate_token(&self, token: &str, attempt: &Attempt) -> Result<Account, AuthError> {
        let mut audit = Audit::new(SignInMethod::Token, attempt);
        if let Some(refused) = self.throttle(&audit).await? {
            return Err(refused);
        }
        let row = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM tokens t JOIN reviewers r ON r.canonical = t.account WHERE t.sha256 = $1"))
            .bind(sha256_hex(token.trim()))
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            self.record(&audit, SignInOutcome::Refused, "no such token").await?;
            return Err(AuthError::BadToken);
        };
        let info = token_from_row(&row)?;
        let reviewer = self.reviewer_with_hash(&row.try_get::<String, _>("account")?).await?.map(|(r, _)| r);
        audit.name = Some(info.name.clone());
        let account = reviewer.as_ref().and_then(Account::of);
        let refusal = match (&account, info.revoked_at) {
            (_, Some(at)) => Some(format!("token {} ({}) was revoked at {}", info.id, info.label, time(at))),
            _ if info.expires_at <= attempt.at => Some(format!("token {} ({}) expired at {}", info.id, info.label, time(info.expires_at))),
            (None, _) => Some("removed from the roster".into()),
            (Some(_), None) => None,
        };
        match (refusal, account) {
            (None, Some(account)) => {
                self.record(&audit, SignInOutcome::Accepted, &format!("token {} ({})", info.id, info.label)).await?;
                Ok(account)
            }
            (why, _) => {
                self.record(&audit, SignInOutcome::Refused, &why.unwrap_or_default()).await?;
                Err(AuthError::BadToken)
            }
        }
    }

    /// The tokens of `name` (any spelling with its key), newest first, revoked and expired ones included.
    pub async fn list_tokens(&self, name: &str) -> Result<Vec<TokenInfo>, CaseError> {
        let r = self.reviewer(name).await?;
        let sql =
            format!("SELECT {TOKEN_COLUMNS} FROM tokens t JOIN reviewers r ON r.canonical = t.account WHERE t.account = $1 ORDER BY t.created_at DESC, t.id");
        sqlx::query(&sql).bind(&r.key).fetch_all(&self.pool).await?.iter().map(token_from_row).collect()
    }

    /// Revoke the token `id` as `by`: its own reviewer or an admin. Revoking a revoked token changes nothing.
    pub async fn revoke_token(&self, by: &Account, id: &str, at: DateTime<Utc>) -> Result<TokenInfo, CaseError> {
        let who = self.acting(by).await?;
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens t JOIN reviewers r ON r.canonical = t.account WHERE t.id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?.ok_or_else(|| CaseError::UnknownToken(id.to_string()))?;
        let owner: String = row.try_get("account")?;
        if owner != who.key && who.role != Role::Admin {
            return Err(CaseError::NotPermitted {
                reviewer: who.name,
                role: who.role,
                action: format!("revoke another reviewer's token ({id})"),
                needs: "the token's own reviewer or an admin",
            });
        }
        sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL").bind(time(at)).bind(id).execute(&self.pool).await?;
        let row = sqlx::query(&sql).bind(id).fetch_one(&self.pool).await?;
        token_from_row(&row)
    }

    /// Open a web console session for `account`, which just signed in, for `ttl`. The attempt is recorded; a
    /// reviewer removed since signing in is refused.
    pub async fn create_session(&self, account: &Account, ttl: TimeDelta, attempt: &Attempt) -> Result<NewSession, AuthError> {
        if ttl <= TimeDelta::zero() {
            return Err(CaseError::Input(format!("a session must last a positive time, not {ttl}")).into());
        }
        let mut audit = Audit::new(SignInMethod::Session, attempt);
        audit.name = Some(account.name.clone());
        let who = match self.acting(account).await {
            Err(e) if e.is_refusal() => {
                self.record(&audit, SignInOutcome::Refused, &e.to_string()).await?;
                return Err(e.into());
            }
            other => other?,
        };
        // Expired sessions are of no use to anyone: clear them while here.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(time(attempt.at)).execute(&self.pool).await?;
        let id = random_secret();
        let expires_at = attempt.at + ttl;
        sqlx::query("INSERT INTO sessions (sha256, account, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(sha256_hex(&id))
            .bind(&who.key)
            .bind(time(attempt.at))
            .bind(time(expires_at))
            .execute(&self.pool)
            .await?;
        self.record(&audit, SignInOutcome::Accepted, &format!("session until {}", time(expires_at))).await?;
        Ok(NewSession { csrf: csrf_of(&id), id, expires_at })
    }

    /// The live session `id` at `at`: none if it is unknown, ended, expired, or its reviewer was removed. The
    /// account has the roster's role now.
    pub async fn session(&self, id: &str, at: DateTime<Utc>) -> Result<Option<Session>, CaseError> {
        let Some(row) = sqlx::query("SELECT account, expires_at FROM sessions WHERE sha256 = $1").bind(sha256_hex(id)).fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        let expires_at = parse_time(&row.try_get::<String, _>("expires_at")?)?;
        let account = match self.reviewer_with_hash(&row.try_get::<String, _>("account")?).await? {
            Some((r, _)) => Account::of(&r),
            None => None,
        };
        match account {
            Some(account) if at < expires_at => Ok(Some(Session { account, csrf: csrf_of(id), expires_at })),
            _ => {
                self.end_session(id).await?;
                Ok(None)
            }
        }
    }

    /// End the session `id` (signing out). Whether there was one to end.
    pub async fn end_session(&self, id: &str) -> Result<bool, CaseError> {
        let done = sqlx::query("DELETE FROM sessions WHERE sha256 = $1").bind(sha256_hex(id)).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    /// The last `limit` sign-in attempts, newest first.
    pub async fn sign_ins(&self, limit: u32) -> Result<Vec<SignIn>, CaseError> {
        let rows = sqlx::query("SELECT at, method, name, address, outcome, detail FROM sign_ins ORDER BY at DESC, id DESC LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let corrupt = |what: &str, v: &str| CaseError::Corrupt(format!("sign-in {what} {v:?}"));
        rows.iter()
            .map(|r| {
                let (method, outcome): (String, String) = (r.try_get("method")?, r.try_get("outcome")?);
                Ok(SignIn {
                    at: parse_time(&r.try_get::<String, _>("at")?)?,
                    method: SignInMethod::parse(&method).ok_or_else(|| corrupt("method", &method))?,
                    name: r.try_get("name")?,
                    address: r.try_get("address")?,
                    outcome: SignInOutcome::parse(&outcome).ok_or_else(|| corrupt("outcome", &outcome))?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_does() {
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(dummy.algorithm, Algorithm::Argon2id.ident());
        let (d, h) = (Params::try_from(&dummy).unwrap(), hasher().params().clone());
        assert_eq!((d.m_cost(), d.t_cost(), d.p_cost()), (h.m_cost(), h.t_cost(), h.p_cost()));
    }

    #[test]
    fn audit_rows_show_what_was_typed_and_hide_nothing() {
        assert_eq!(escape("ann", 10), "ann");
        assert_eq!(escape("ann\u{200b}", 10), "ann\\u{200b}");
        assert_eq!(escape("a\\u{41}", 10), "a\\u{005c}u{41}");
        assert_eq!(escape("a\nb\u{1b}[2J", 10), "a\\u{000a}b\\u{001b}[2J");
        assert_eq!(escape("Ann Lee", 3), "Ann…");
    }

    #[test]
    fn the_csrf_token_is_the_sessions_and_compares_whole() {
        let s = |id: &str| csrf_of(id);
        assert_eq!(s("a"), s("a"));
        assert_ne!(s("a"), s("b"));
        assert_eq!(s("a").len(), 43);
        let a = random_secret();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_secret());
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let phc = hash(normalise("correct horse battery staple")).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(verify(normalise("correct horse battery staple"), phc.clone()).await, Ok(true));
        assert_eq!(verify(normalise("correct horse battery stapler"), phc.clone()).await, Ok(false));
        // NFKC: the full-width letter is the ASCII one.
        assert_eq!(verify(normalise("\u{ff43}orrect horse battery staple"), phc).await, Ok(true));
        assert!(verify("x".into(), "not a hash".into()).await.is_err());
    }
}

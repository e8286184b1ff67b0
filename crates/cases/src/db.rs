//! What a `--db` argument names, and reaching it: a SQLite file that only [`Cases::init`] creates, or a PostgreSQL
//! server named by host and port when it cannot be reached.
//!
//! [`Cases::init`]: crate::Cases::init

use std::path::PathBuf;
use std::time::Duration;

use sqlx::{AnyConnection, Connection, Row};

use crate::CaseError;

/// How long reaching the database may take before it counts as unreachable. sqlx's pool retries a refused
/// connection until its acquire time-out (30 s by default), so the first connection is made outside the pool.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A database argument as a URL: `postgres://…`, `postgresql://…` and `sqlite:…` are used as given; anything else
/// is a SQLite file path. The URL never asks SQLite to create the file: [`Cases::init`](crate::Cases::init) does.
pub fn db_url(db: &str) -> String {
    if db.contains("://") || db.starts_with("sqlite:") {
        db.to_string()
    } else {
        // sqlx percent-decodes the path, and `?` would start the parameters.
        let path = db.replace('%', "%25").replace('?', "%3F").replace('#', "%23");
        format!("sqlite://{path}?mode=rw")
    }
}

/// The database a `--db` argument names.
pub(crate) enum Database {
    /// A SQLite file (`None`: an in-memory database).
    Sqlite { path: Option<PathBuf>, url: String },
    /// A PostgreSQL database; `server` is its `host:port`.
    Postgres { url: String, server: String },
}

impl Database {
    pub(crate) fn parse(db: &str) -> Database {
        let url = db_url(db);
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Database::Postgres { server: server_of(&url), url };
        }
        let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(&url);
        let (file, params) = rest.split_once('?').unwrap_or((rest, ""));
        let memory = file.is_empty() || file == ":memory:" || params.split('&').any(|p| p == "mode=memory");
        Database::Sqlite { path: (!memory).then(|| PathBuf::from(percent_decode(file))), url }
    }

    pub(crate) fn url(&self) -> &str {
        match self {
            Database::Sqlite { url, .. } | Database::Postgres { url, .. } => url,
        }
    }

    /// Connect once, within [`CONNECT_TIMEOUT`]. `db` is the argument as given, for messages.
    pub(crate) async fn connect(&self, db: &str) -> Result<AnyConnection, CaseError> {
        match tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect(self.url())).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(self.connect_error(db, e)),
            Err(_) => Err(self.unreachable(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))),
        }
    }

    /// A connection error, with what the user can act on: which server did not answer, or that the database is
    /// missing.
    pub(crate) fn connect_error(&self, db: &str, e: sqlx::Error) -> CaseError {
        let Database::Postgres { .. } = self else { return CaseError::Db(e) };
        match e {
            sqlx::Error::Database(d) if d.code().as_deref() == Some("3D000") => {
                CaseError::NoStore { db: redact(db), why: "the database does not exist".into() }
            }
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => self.unreachable(e.to_string()),
            e => CaseError::Db(e),
        }
    }

    fn unreachable(&self, why: String) -> CaseError {
        let server = match self {
            Database::Postgres { server, .. } => server.clone(),
            Database::Sqlite { .. } => "sqlite".into(),
        };
        CaseError::Unreachable { server, why }
    }

    /// Whether the database holds the case store's schema.
    pub(crate) async fn has_schema(&self, conn: &mut AnyConnection) -> Result<bool, CaseError> {
        let sql = match self {
            Database::Sqlite { .. } => "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'cases'",
            Database::Postgres { .. } => "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'cases'",
        };
        let n: i64 = sqlx::query(sql).fetch_one(conn).await?.try_get("n")?;
        Ok(n > 0)
    }
}

/// `host:port` of a PostgreSQL URL (`postgres://user:password@host:port/db?…`); 5432 when no port is given.
pub(crate) fn server_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.rsplit_once(':') {
        // An IPv6 address without a port has colons too, inside its brackets.
        Some((h, p)) if !p.contains(']') => (h, p),
        _ => (host_port, "5432"),
    };
    format!("{}:{port}", if host.is_empty() { "localhost" } else { host })
}

/// The argument with a URL's password replaced by `***`, for messages.
pub(crate) fn redact(db: &str) -> String {
    let Some((scheme, rest)) = db.split_once("://") else { return db.to_string() };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{}", &rest[end..])
        }
        _ => db.to_string(),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_name_their_database() {
        assert_eq!(db_url("cases.db"), "sqlite://cases.db?mode=rw");
        assert_eq!(db_url("/tmp/a?b#c%d.db"), "sqlite:///tmp/a%3Fb%23c%25d.db?mode=rw");
        match Database::parse("/tmp/a?b#c%d.db") {
            Database::Sqlite { path, .. } => assert_eq!(path, Some(PathBuf::from("/tmp/a?b#c%d.db"))),
            Database::Postgres { .. } => panic!("a path is SQLite"),
        }
        match Database::parse("sqlite:rel/cases.db?mode=rwc") {
            Database::Sqlite { path, .. } => assert_eq!(path, Some(PathBuf::from("rel/cases.db"))),
            Database::Postgres { .. } => panic!("sqlite: is SQLite"),
        }
        assert!(matches!(Database::parse("sqlite::memory:"), Database::Sqlite { path: None, .. }));
        match Database::parse("postgresql://u:secret@db.example:6543/cases?sslmode=require") {
            Database::Postgres { server, .. } => assert_eq!(server, "db.example:6543"),
            Database::Sqlite { .. } => panic!("a postgres URL is PostgreSQL"),
        }
    }

    #[test]
    fn servers_are_host_and_port() {
        assert_eq!(server_of("postgres://postgres@127.0.0.1:1/x"), "127.0.0.1:1");
        assert_eq!(server_of("postgres://db/x"), "db:5432");
        assert_eq!(server_of("postgres://u:p%40ss@[::1]:7000/x"), "[::1]:7000");
        assert_eq!(server_of("postgres://[::1]/x"), "[::1]:5432");
        assert_eq!(server_of("postgres:///x"), "localhost:5432");
    }

    #[test]
    fn messages_never_show_a_password() {
        assert_eq!(redact("postgres://u:secret@h:5/db?x=1"), "postgres://u:***@h:5/db?x=1");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("cases.db"), "cases.db");
    }
}

-- The reviewer roster: who may act on cases, and in which role. Like 0001, it runs unchanged on SQLite and
-- PostgreSQL. `canonical` is the name's key (crate::identity: NFKC, case folded), so two spellings of one name are
-- one row; `name` is the name as registered, the one transitions, approvals and the log record. A removed reviewer
-- keeps the row with `removed_at` set: their past actions stand, new ones are refused, and the name is never someone
-- else's. `password_hash` waits for the web console (argon2id); nothing sets it yet.
CREATE TABLE reviewers (
    canonical TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('reviewer', 'approver', 'admin', 'auditor')),
    created_at TEXT NOT NULL,
    removed_at TEXT,
    password_hash TEXT
);

-- People, not names: passwords, bearer tokens, console sessions, the sign-in audit, and approval keys. Like 0001 and
-- 0002, it runs unchanged on SQLite and PostgreSQL. A store made before it keeps its reviewers; they cannot sign in
-- until a password is set (Cases::set_password), and Cases::open gives each active one an approval key.

-- Approval keys: an Ed25519 key per reviewer, made with the reviewer. The server keeps the seed (hex) and signs an
-- approval with it once its account has signed in, so a signature shows which account approved, not that a person
-- held a key. `key_id` is the hex of the first 16 bytes of the public key's SHA-256; `public_key` is base64, as the
-- `account` log entry publishes it. `password_hash` (from 0002) is an argon2id PHC string.
ALTER TABLE reviewers ADD COLUMN key_id TEXT;
ALTER TABLE reviewers ADD COLUMN public_key TEXT;
ALTER TABLE reviewers ADD COLUMN signing_seed TEXT;
CREATE UNIQUE INDEX reviewers_key_id ON reviewers (key_id);

-- Bearer tokens: the store keeps only the SHA-256 (hex) of a token; `id` names it for listing and revoking.
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES reviewers (canonical),
    label TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);

-- Web console sessions: only the SHA-256 (hex) of the session id; ended sessions are deleted.
CREATE TABLE sessions (
    sha256 TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES reviewers (canonical),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Every authentication attempt. `name` is as given with invisible and control characters escaped (NULL for a token
-- that matched nothing); `name_key`, for passwords only, is what failed passwords are counted under (the name's
-- canonical key, or the escaped name when it has none); `detail` says why, for the audit only: the caller is told
-- the same for every refusal.
CREATE TABLE sign_ins (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('password', 'token', 'session')),
    name TEXT,
    name_key TEXT,
    address TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'refused', 'throttled')),
    detail TEXT NOT NULL
);
CREATE INDEX sign_ins_at ON sign_ins (at);
CREATE INDEX sign_ins_name ON sign_ins (name_key, at);
CREATE INDEX sign_ins_address ON sign_ins (address, at);

-- The outbox also carries `account` entries (a reviewer's key published, a reviewer removed), which belong to no
-- case and no transition: the table is rebuilt with those two columns nullable (neither engine drops NOT NULL the
-- same way), keeping every row.
CREATE TABLE log_entries_v3 (
    id TEXT PRIMARY KEY,
    transition_id TEXT REFERENCES transitions (id),
    case_id TEXT REFERENCES cases (id),
    part BIGINT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_seq BIGINT NOT NULL,
    log_size_hint BIGINT NOT NULL,
    log_index BIGINT,
    proof TEXT
);
INSERT INTO log_entries_v3 (id, transition_id, case_id, part, kind, body, created_seq, log_size_hint, log_index, proof)
    SELECT id, transition_id, case_id, part, kind, body, created_seq, log_size_hint, log_index, proof FROM log_entries;
DROP TABLE log_entries;
ALTER TABLE log_entries_v3 RENAME TO log_entries;
CREATE INDEX log_entries_pending ON log_entries (log_index);
CREATE INDEX log_entries_case ON log_entries (case_id);

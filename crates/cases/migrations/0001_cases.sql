-- The case store. This file runs unchanged on SQLite and PostgreSQL: only TEXT and BIGINT columns, times as
-- RFC 3339 text in UTC, JSON as text, no engine-specific types or defaults.

-- One row per case. `version` grows by one with every change; each change is a compare-and-set on it.
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    parent_id TEXT,
    state TEXT NOT NULL,
    outcome TEXT,
    unit TEXT,
    services TEXT,
    assignee TEXT,
    version BIGINT NOT NULL,
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX cases_subject ON cases (subject);
CREATE INDEX cases_state ON cases (state);

-- Findings that opened or joined a case, once per case. `via` is `subject` (the finding names the case's subject)
-- or `watch` (it names the parent or a sibling of an enforced case's subject).
CREATE TABLE case_findings (
    case_id TEXT NOT NULL REFERENCES cases (id),
    account_id TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    policy_version BIGINT NOT NULL,
    as_of TEXT NOT NULL,
    severity TEXT NOT NULL,
    via TEXT NOT NULL,
    body TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (case_id, account_id, policy_id, policy_version, as_of)
);

-- Every change of a case: who, when, why. `version` is the case's version after the change.
CREATE TABLE transitions (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    version BIGINT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    UNIQUE (case_id, version)
);

-- Approvals of a restrict or suspend decision; one per reviewer (the two-person rule needs two rows).
CREATE TABLE approvals (
    case_id TEXT NOT NULL REFERENCES cases (id),
    reviewer TEXT NOT NULL,
    transition_id TEXT NOT NULL REFERENCES transitions (id),
    at TEXT NOT NULL,
    PRIMARY KEY (case_id, reviewer)
);

-- Enforcement documents issued for a case; `position` is the order to apply them.
CREATE TABLE documents (
    case_id TEXT NOT NULL REFERENCES cases (id),
    position BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    provider TEXT NOT NULL,
    kind TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    json TEXT NOT NULL,
    summary TEXT NOT NULL,
    transition_id TEXT NOT NULL REFERENCES transitions (id),
    PRIMARY KEY (case_id, file_name)
);

-- The outbox: the log entries of each transition, committed with it. `log_index` and `proof` stay empty until the
-- entry is in the transparency log; `log_size_hint` is a size the log had before the entry could be appended, so
-- reconciliation reads the log from there to find entries a crash left unrecorded.
CREATE TABLE log_entries (
    id TEXT PRIMARY KEY,
    transition_id TEXT NOT NULL REFERENCES transitions (id),
    case_id TEXT NOT NULL REFERENCES cases (id),
    part BIGINT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_seq BIGINT NOT NULL,
    log_size_hint BIGINT NOT NULL,
    log_index BIGINT,
    proof TEXT
);
CREATE INDEX log_entries_pending ON log_entries (log_index);

-- Rows whose update serialises writers: `cases` for placing findings, `publish` for appending the outbox to the log.
CREATE TABLE locks (
    name TEXT PRIMARY KEY,
    n BIGINT NOT NULL
);
INSERT INTO locks (name, n) VALUES ('cases', 0);
INSERT INTO locks (name, n) VALUES ('publish', 0);

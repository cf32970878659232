-- Moderation: the only accounts, their sessions, sanctions, appeals, the audit log.

CREATE TABLE moderators (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT NOT NULL UNIQUE,
    role             TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    failed_logins    INTEGER NOT NULL DEFAULT 0,
    locked_until     INTEGER NOT NULL DEFAULT 0,
    disabled         INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE moderator_sessions (
    token_hash    TEXT PRIMARY KEY,
    moderator_id  INTEGER NOT NULL REFERENCES moderators (id),
    csrf          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);

ALTER TABLE cases ADD COLUMN trusted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN decided_at INTEGER;
ALTER TABLE cases ADD COLUMN decided_by INTEGER REFERENCES moderators (id);
ALTER TABLE cases ADD COLUMN decision TEXT;
DROP INDEX cases_queue;
CREATE INDEX cases_queue ON cases (status, severity, trusted, created_at);

-- Every sanction, with its statement of reasons (DSA art. 17) and the code to appeal it.
CREATE TABLE sanctions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at     INTEGER NOT NULL,
    member_id      TEXT NOT NULL,
    nickname       TEXT NOT NULL,
    kind           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    category       TEXT NOT NULL,
    facts          TEXT NOT NULL,
    expires_at     INTEGER,
    moderator_id   INTEGER REFERENCES moderators (id),
    case_id        INTEGER REFERENCES cases (id),
    appeal_code    TEXT NOT NULL UNIQUE,
    status         TEXT NOT NULL DEFAULT 'active',
    statement      TEXT NOT NULL
);
CREATE INDEX sanctions_member ON sanctions (member_id);

CREATE TABLE appeals (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    sanction_id   INTEGER NOT NULL REFERENCES sanctions (id),
    created_at    INTEGER NOT NULL,
    text          TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'open',
    decided_by    INTEGER REFERENCES moderators (id),
    decided_at    INTEGER,
    decision      TEXT
);
CREATE INDEX appeals_status ON appeals (status, created_at);

ALTER TABLE entry_locks ADD COLUMN sanction_id INTEGER REFERENCES sanctions (id);

-- Append-only: each entry carries the hash of the previous one, so a rewrite shows.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            INTEGER NOT NULL,
    moderator_id  INTEGER REFERENCES moderators (id),
    moderator     TEXT NOT NULL,
    action        TEXT NOT NULL,
    target        TEXT NOT NULL,
    reason        TEXT NOT NULL,
    details       TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

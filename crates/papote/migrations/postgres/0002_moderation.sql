-- Moderation: the only accounts, their sessions, sanctions, appeals, the audit log.

CREATE TABLE moderators (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    role             TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    failed_logins    BIGINT NOT NULL DEFAULT 0,
    locked_until     BIGINT NOT NULL DEFAULT 0,
    disabled         BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE moderator_sessions (
    token_hash    TEXT PRIMARY KEY,
    moderator_id  BIGINT NOT NULL REFERENCES moderators (id),
    csrf          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);

ALTER TABLE cases ADD COLUMN trusted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN decided_at BIGINT;
ALTER TABLE cases ADD COLUMN decided_by BIGINT REFERENCES moderators (id);
ALTER TABLE cases ADD COLUMN decision TEXT;
DROP INDEX cases_queue;
CREATE INDEX cases_queue ON cases (status, severity, trusted, created_at);

-- Every sanction, with its statement of reasons (DSA art. 17) and the code to appeal it.
CREATE TABLE sanctions (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at     BIGINT NOT NULL,
    member_id      TEXT NOT NULL,
    nickname       TEXT NOT NULL,
    kind           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    category       TEXT NOT NULL,
    facts          TEXT NOT NULL,
    expires_at     BIGINT,
    moderator_id   BIGINT REFERENCES moderators (id),
    case_id        BIGINT REFERENCES cases (id),
    appeal_code    TEXT NOT NULL UNIQUE,
    status         TEXT NOT NULL DEFAULT 'active',
    statement      TEXT NOT NULL
);
CREATE INDEX sanctions_member ON sanctions (member_id);

CREATE TABLE appeals (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sanction_id   BIGINT NOT NULL REFERENCES sanctions (id),
    created_at    BIGINT NOT NULL,
    text          TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'open',
    decided_by    BIGINT REFERENCES moderators (id),
    decided_at    BIGINT,
    decision      TEXT
);
CREATE INDEX appeals_status ON appeals (status, created_at);

ALTER TABLE entry_locks ADD COLUMN sanction_id BIGINT REFERENCES sanctions (id);

-- Append-only: each entry carries the hash of the previous one, so a rewrite shows.
CREATE TABLE audit_log (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            BIGINT NOT NULL,
    moderator_id  BIGINT REFERENCES moderators (id),
    moderator     TEXT NOT NULL,
    action        TEXT NOT NULL,
    target        TEXT NOT NULL,
    reason        TEXT NOT NULL,
    details       TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

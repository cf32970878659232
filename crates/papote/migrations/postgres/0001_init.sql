-- Papote schema, PostgreSQL. Times are Unix milliseconds. Connection data is kept apart from content.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Entry data (LCEN, decree 2021-1362): kept one year after the session ends.
CREATE TABLE entries (
    member_id    TEXT PRIMARY KEY,
    nickname     TEXT NOT NULL,
    skeleton     TEXT NOT NULL,
    gender       TEXT NOT NULL,
    age          BIGINT NOT NULL,
    postcode     TEXT NOT NULL,
    insee        TEXT NOT NULL,
    city         TEXT NOT NULL,
    ip           TEXT NOT NULL,
    port         BIGINT NOT NULL,
    user_agent   TEXT NOT NULL,
    device_key   TEXT NOT NULL,
    network_key  TEXT NOT NULL,
    entered_at   BIGINT NOT NULL,
    ended_at     BIGINT
);
CREATE INDEX entries_entered_at ON entries (entered_at);
CREATE INDEX entries_device_key ON entries (device_key);
CREATE INDEX entries_network_key ON entries (network_key);

-- Connection log: every HTTP entry and every WebSocket, with address and source port.
CREATE TABLE connections (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id   TEXT,
    kind        TEXT NOT NULL,
    ip          TEXT NOT NULL,
    port        BIGINT NOT NULL,
    opened_at   BIGINT NOT NULL,
    closed_at   BIGINT
);
CREATE INDEX connections_member ON connections (member_id);
CREATE INDEX connections_opened_at ON connections (opened_at);

-- Devices and networks locked out of entry (under-18 declarations, bans later).
CREATE TABLE entry_locks (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         TEXT NOT NULL,
    kind        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX entry_locks_key ON entry_locks (key, expires_at);

-- Reports from members, with the evidence frozen at the time of the report.
CREATE TABLE reports (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at       BIGINT NOT NULL,
    reporter_id      TEXT NOT NULL,
    target_id        TEXT NOT NULL,
    target_nickname  TEXT NOT NULL,
    category         TEXT NOT NULL,
    comment          TEXT NOT NULL,
    room             TEXT,
    message_id       BIGINT,
    evidence         TEXT NOT NULL
);
CREATE INDEX reports_target ON reports (target_id);

-- Moderation cases: opened by a report or by the safety engine (`flag`).
CREATE TABLE cases (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at   BIGINT NOT NULL,
    source       TEXT NOT NULL,
    severity     BIGINT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open',
    member_id    TEXT NOT NULL,
    nickname     TEXT NOT NULL,
    categories   TEXT NOT NULL,
    rules        TEXT NOT NULL,
    context      TEXT NOT NULL,
    text         TEXT NOT NULL,
    report_id    BIGINT REFERENCES reports (id),
    evidence     TEXT NOT NULL
);
CREATE INDEX cases_queue ON cases (status, severity, created_at);
CREATE INDEX cases_member ON cases (member_id);

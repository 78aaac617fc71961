-- Access control (访问控制): principals, their bearer tokens (only a SHA-256 kept), their
-- grants of a role at a region (covering its subtree), and the append-only access log.

CREATE TABLE principals (
    id           text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    kind         smallint NOT NULL CHECK (kind BETWEEN 1 AND 2),
    created_by   text NOT NULL,
    create_time  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE access_tokens (
    id           bigserial PRIMARY KEY,
    principal_id text NOT NULL REFERENCES principals (id),
    secret_hash  bytea NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    description  text NOT NULL,
    expire_time  timestamptz NOT NULL,
    revoke_time  timestamptz,
    created_by   text NOT NULL,
    create_time  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE grants (
    id           bigserial PRIMARY KEY,
    principal_id text NOT NULL REFERENCES principals (id),
    role         smallint NOT NULL CHECK (role BETWEEN 1 AND 5),
    region_code  text NOT NULL REFERENCES regions (code),
    expire_time  timestamptz,
    revoke_time  timestamptz,
    created_by   text NOT NULL,
    create_time  timestamptz NOT NULL DEFAULT now()
);

-- Bumped by every change to principals, tokens or grants (in the same transaction), so that
-- each server can tell cheaply whether its copy of them is current.
CREATE TABLE access_version (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version  bigint NOT NULL
);
INSERT INTO access_version VALUES (true, 1);

CREATE TABLE access_events (
    id          bigserial PRIMARY KEY,
    event_time  timestamptz NOT NULL,
    principal   text NOT NULL,
    method      text NOT NULL,
    resource    text NOT NULL,
    region_code text,
    outcome     smallint NOT NULL CHECK (outcome BETWEEN 1 AND 4),
    code        text NOT NULL,
    permission  text NOT NULL
);
-- Listed newest first by id (ids follow the order entries are appended); by principal too.
CREATE INDEX access_events_by_principal ON access_events (principal, id);

CREATE TRIGGER access_events_immutable BEFORE UPDATE OR DELETE ON access_events
    FOR EACH ROW EXECUTE FUNCTION procura_forbid_change();
CREATE TRIGGER access_events_not_truncated BEFORE TRUNCATE ON access_events
    FOR EACH STATEMENT EXECUTE FUNCTION procura_forbid_change();

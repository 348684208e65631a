-- The lab's `clickview` database: a small, realistic schema for the runbook's procedures.
-- Run as the superuser on the primary by lab/labctl.py (once, when the cluster is created).
CREATE ROLE clickview_app LOGIN PASSWORD :'app_password';
-- the operator login has exactly the documented grants (docs/security.md): statistics views and
-- the right to signal other backends, plus reading the audit trail for evidence; no table data else
CREATE ROLE clickview_ops LOGIN PASSWORD :'ops_password' IN ROLE pg_monitor, pg_signal_backend;
CREATE ROLE replicator LOGIN REPLICATION PASSWORD :'replicator_password';
ALTER ROLE postgres PASSWORD :'superuser_password';
CREATE DATABASE clickview OWNER clickview_app;
\connect clickview
SET ROLE clickview_app;

CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    email       text NOT NULL UNIQUE,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_login  timestamptz
);

CREATE TABLE api_keys (
    id          bigserial PRIMARY KEY,
    key_id      text NOT NULL UNIQUE,
    user_id     bigint NOT NULL REFERENCES users(id),
    label       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    revoked_by  text
);
CREATE INDEX api_keys_user_id_idx ON api_keys (user_id);

-- the runbook's audit trail: SELECT * FROM audit_log WHERE created_at > now() - interval '1 hour'
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    action      text NOT NULL,
    target      text,
    detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_created_at_idx ON audit_log (created_at);

-- page views: large enough to show dead tuples, bloat and an index nobody uses
CREATE TABLE page_views (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL,
    path        text NOT NULL,
    viewed_at   timestamptz NOT NULL DEFAULT now(),
    referrer    text
) WITH (autovacuum_enabled = false);
CREATE INDEX page_views_referrer_idx ON page_views (referrer);   -- never used by the app

INSERT INTO users (email, name, last_login)
SELECT 'user' || g || '@example.com', 'User ' || g, now() - (g % 30) * interval '1 day'
FROM generate_series(1, 5000) AS g;

INSERT INTO api_keys (key_id, user_id, label)
SELECT 'ck_' || md5(g::text), (g % 5000) + 1, 'key ' || g FROM generate_series(1, 2000) AS g;

INSERT INTO audit_log (created_at, actor, action, target)
SELECT now() - g * interval '1 minute', 'user' || (g % 50) || '@example.com', 'login', 'web'
FROM generate_series(1, 2000) AS g;

INSERT INTO page_views (user_id, path, viewed_at, referrer)
SELECT (g % 5000) + 1, '/videos/' || (g % 997), now() - g * interval '1 second',
       CASE WHEN g % 3 = 0 THEN 'https://search.example/' END
FROM generate_series(1, 200000) AS g;

-- churn without vacuum: 60,000 dead tuples (30 % of the table) for the bloat report
DELETE FROM page_views WHERE id % 10 < 3;
GRANT SELECT ON audit_log TO clickview_ops;
RESET ROLE;
ANALYZE users;
ANALYZE api_keys;
ANALYZE audit_log;

-- Brings a lab seeded by an older seed.sql to the current schema; idempotent, run by lab/labctl.py as
-- the superuser on the primary at every start and `up` (the replica follows). Each step checks first,
-- so an up-to-date database is left alone. Waits at most 10 s for a lock, then fails (run `up` again).
\connect clickview
SET lock_timeout = '10s';
-- the runbook's audit trail column: audit_log.created_at (was audit_log.at)
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = 'public' AND table_name = 'audit_log' AND column_name = 'at') THEN
        ALTER TABLE public.audit_log RENAME COLUMN at TO created_at;
    END IF;
    IF to_regclass('public.audit_log_at_idx') IS NOT NULL THEN
        ALTER INDEX public.audit_log_at_idx RENAME TO audit_log_created_at_idx;
    END IF;
END
$$;

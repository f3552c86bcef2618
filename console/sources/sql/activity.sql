-- Per refresh, statement 1 of 2: client backends counted in SQL by application, role and
-- state (and client address, only when $1: an allocation matches by address, e.g. a pooler's).
-- Rows are (distinct applications × roles × states [× addresses]), however many backends.
-- Our own session is left out; the collector adds it back to the cluster total.
-- A role without pg_read_all_stats sees other roles' sessions with no backend_type and no
-- state: they are client backends all the same (a role, not a server process, owns them),
-- counted as 'not visible' rather than dropped (server processes have no role or no database;
-- a parallel or autovacuum worker of a hidden session may be counted with it).
-- WAL senders (replication connections) come back as rows of their own (wal_sender): they
-- have their own slots (max_wal_senders) and are never counted against the client ones.
-- The server's settings come with it, on every row (at least one: with no session, the
-- sessions' columns are NULL): read every refresh, so a promoted standby is seen at once,
-- and `check` costs the server these two statements and nothing more.
WITH settings AS (
    SELECT current_setting('server_version')                           AS server_version,
           current_user::text                                          AS current_user,
           current_setting('server_version_num')::int                  AS server_version_num,
           current_setting('max_connections')::int                     AS max_connections,
           current_setting('superuser_reserved_connections')::int      AS superuser_reserved_connections,
           coalesce(current_setting('reserved_connections', true), '0')::int AS reserved_connections,
           pg_is_in_recovery()                                         AS in_recovery,
           current_setting('max_worker_processes')::int                AS max_worker_processes,
           current_setting('max_wal_senders')::int                     AS max_wal_senders,
           current_setting('max_prepared_transactions')::int           AS max_prepared_transactions,
           current_setting('max_locks_per_transaction')::int           AS max_locks_per_transaction,
           -- Without pg_read_all_stats (pg_monitor has it) other roles' sessions show no state.
           (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
             OR pg_has_role('pg_read_all_stats', 'USAGE')              AS sees_all_sessions
), sessions AS (
    SELECT coalesce(application_name, '')  AS application_name,
           CASE WHEN backend_type IS NULL THEN 'not visible'
                ELSE coalesce(state, 'unknown') END AS state,
           coalesce(usename::text, '')     AS usename,
           CASE WHEN $1::bool THEN coalesce(host(client_addr), '') ELSE '' END AS client_addr,
           coalesce(backend_type = 'walsender', false) AS wal_sender,
           count(*)::int                   AS n
    FROM pg_stat_activity
    WHERE (backend_type IN ('client backend', 'walsender')
           OR (backend_type IS NULL AND usesysid IS NOT NULL AND datid IS NOT NULL))
      AND pid <> pg_backend_pid()
    GROUP BY 1, 2, 3, 4, 5
)
SELECT settings.*, sessions.*
FROM settings LEFT JOIN sessions ON true
ORDER BY sessions.application_name, sessions.state, sessions.usename, sessions.client_addr,
         sessions.wal_sender

-- The one statement of a refresh. pg_stat_activity is read once (its scan is about half the
-- cost at 3,000 backends, and grows with the square of the backends: the server builds every
-- backend's row and looks its process up in the process array), and from that one read come
--   * 'count' rows: client backends counted by application, role and state (and client
--     address, only when $1: an allocation matches by address, e.g. a pooler's); rows are
--     (distinct applications × roles × states [× addresses]), however many backends;
--   * 'backend' rows, picked by a top-N on narrow columns and ranked (rank 1 the most
--     interesting; the rows come unordered): the $2 backends most worth showing (lock waits;
--     idle in transaction, and the sessions lock waiters wait on; active; oldest transaction
--     first), and the idle backends of the applications in $4 (the service whose detail is
--     open; none when it is empty), at most $2. The wide columns (the query text, cut at $3
--     characters) are fetched for those rows only. Lock
--     waits carry their blockers and how long they have waited; pg_locks is read only when
--     one of them waits on a lock (the `waits` part: waits_pg_locks.sql, or
--     waits_query_start.sql on PostgreSQL 13 and for a role refused pg_locks).
-- Every row carries the server's settings (at least one row: with no session, the other
-- columns are NULL): read every refresh, so a promoted standby is seen at once.
-- Our own session is left out; the collector adds it back to the cluster total.
-- A role without pg_read_all_stats sees other roles' sessions with no backend_type and no
-- state: they are client backends all the same (a role, not a server process, owns them),
-- counted as 'not visible' rather than dropped (server processes have no role or no database;
-- a parallel or autovacuum worker of a hidden session may be counted with it).
-- WAL senders (replication connections) are counted in rows of their own (wal_sender): they
-- have their own slots (max_wal_senders) and are never counted against the client ones.
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
), a AS MATERIALIZED (
    -- the function under the pg_stat_activity view, without the view's joins (role names
    -- are looked up for the rows returned only)
    SELECT pid, coalesce(application_name, '') AS application_name, usesysid, client_addr,
           backend_type, state, backend_start, xact_start, query_start, state_change,
           wait_event_type, wait_event
    FROM pg_stat_get_activity(NULL)
    WHERE (backend_type IN ('client backend', 'walsender')
           OR (backend_type IS NULL AND usesysid IS NOT NULL AND datid IS NOT NULL))
      AND pid <> pg_backend_pid()
), counts AS (
    SELECT application_name,
           CASE WHEN backend_type IS NULL THEN 'not visible'
                ELSE coalesce(state, 'unknown') END AS state,
           usesysid,
           CASE WHEN $1::bool THEN coalesce(host(client_addr), '') ELSE '' END AS client_addr,
           coalesce(backend_type = 'walsender', false) AS wal_sender,
           count(*)::int AS n
    FROM a
    GROUP BY 1, 2, 3, 4, 5
), waiting AS MATERIALIZED (
    -- the lock waiters shown (the first $2, in top's order) and whom each waits on:
    -- pg_blocking_pids reads the lock manager, so it is asked once a waiter
    SELECT pid, pg_blocking_pids(pid) AS blocking_pids
    FROM a
    WHERE backend_type = 'client backend' AND wait_event_type = 'Lock'
    ORDER BY xact_start ASC NULLS LAST, backend_start, pid
    LIMIT $2
), kinds AS NOT MATERIALIZED (
    -- one small integer for the kind of session (one comparison where three booleans cost
    -- three, on every backend): 0 waits on a lock; 1 idle in transaction, or holds a lock a
    -- waiter waits on (an idle session holding an advisory lock is the culprit all the same);
    -- 2 active; 3 the rest (idle)
    SELECT a.*,
           CASE WHEN wait_event_type = 'Lock' THEN 0
                WHEN state LIKE 'idle in transaction%' THEN 1
                WHEN pid IN (SELECT unnest(blocking_pids) FROM waiting) THEN 1
                WHEN state = 'active' THEN 2
                ELSE 3 END AS interest
    FROM a
    WHERE backend_type = 'client backend'
), top AS (
    -- each part a top-N by a narrow key (a heap of $2 rows, not a sort of every backend),
    -- then numbered in one order; the idle ones are read only while $4 names applications
    SELECT t.*,
           row_number() OVER (ORDER BY interest, xact_start ASC NULLS LAST, backend_start, pid)
             AS rank
    FROM ((SELECT * FROM kinds
           WHERE interest < 3
           ORDER BY interest, xact_start ASC NULLS LAST, backend_start, pid
           LIMIT $2)
          UNION ALL
          (SELECT * FROM kinds
           WHERE cardinality($4::text[]) > 0 AND application_name = ANY($4::text[])
             AND interest = 3
           ORDER BY backend_start, pid
           LIMIT $2)) t
), ids AS (
    -- each backend's status slot: the query text of a shown row is read from its slot alone
    -- (pg_stat_get_activity(pid) would walk every backend for each of the rows shown)
    SELECT beid, pg_stat_get_backend_pid(beid) AS pid FROM pg_stat_get_backend_idset() beid
), waits AS (
{{waits}}
), blocked AS (
    -- the waiters shown, whom each waits on and since when, as arrays on one row: a shown row
    -- finds its own by position (a join of the rows shown to the waiters shown is planned as a
    -- loop over both, as estimates of a function's rows go: 40,000 steps in a pile-up)
    SELECT array_agg(wt.pid) AS pids, array_agg(wt.blocking_pids::text) AS blocking,
           array_agg(extract(epoch FROM now() - w.since)::float8) AS waited_s
    FROM waiting wt LEFT JOIN waits w ON w.pid = wt.pid
), sessions AS (
    SELECT 'count' AS kind, 0::bigint AS rank, application_name, state,
           coalesce(pg_get_userbyid(usesysid)::text, '') AS usename, client_addr, wal_sender,
           n, NULL::int AS pid, NULL::float8 AS backend_age_s,
           NULL::float8 AS backend_start, NULL::float8 AS xact_age_s,
           NULL::float8 AS query_age_s, NULL::float8 AS state_age_s,
           NULL::text AS wait_event_type, NULL::text AS wait_event,
           NULL::float8 AS lock_wait_s, NULL::text AS blocking_pids, NULL::text AS query
    FROM counts
    UNION ALL
    SELECT 'backend', t.rank, t.application_name, coalesce(t.state, 'unknown'),
           coalesce(pg_get_userbyid(t.usesysid)::text, ''),
           host(t.client_addr), false, 1, t.pid,
           extract(epoch FROM now() - t.backend_start)::float8,
           extract(epoch FROM t.backend_start)::float8,
           extract(epoch FROM now() - t.xact_start)::float8,
           extract(epoch FROM now() - t.query_start)::float8,
           extract(epoch FROM now() - t.state_change)::float8,
           t.wait_event_type, t.wait_event,
           b.waited_s[array_position(b.pids, t.pid)],
           -- as text ('{12,34}'): an int[] column costs asyncpg a type lookup (3 statements more)
           b.blocking[array_position(b.pids, t.pid)],
           left(coalesce(q.query, ''), $3)
    FROM top t
    CROSS JOIN blocked b
    LEFT JOIN ids i ON i.pid = t.pid
    LEFT JOIN LATERAL (SELECT pg_stat_get_backend_activity(i.beid) AS query) q ON true
)
-- Unordered: the client orders the backends by rank (a sort of every row here, on keys after
-- the settings' columns, cost the server more than the rest of this last step).
SELECT settings.*, sessions.*
FROM settings LEFT JOIN sessions ON true

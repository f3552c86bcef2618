-- The one statement of a refresh. pg_stat_activity is read once (its scan is two thirds of the
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
--     characters) are fetched for those rows only. Lock waits carry their blockers, and when
--     they began if the client ($5: the waits it already knows) does not know yet; pg_locks
--     is read only then (the `waits` part: waits_pg_locks.sql, or waits_query_start.sql on
--     PostgreSQL 13 and for a role refused pg_locks);
--   * one row of the server's settings (the other columns NULL; read every refresh, so a
--     promoted standby is seen at once), with the server's clock.
-- Our own session is left out; the collector adds it back to the cluster total.
-- A role without pg_read_all_stats sees other roles' sessions with no backend_type and no
-- state: they are client backends all the same (a role, not a server process, owns them),
-- counted as 'not visible' rather than dropped (server processes have no role or no database;
-- a parallel or autovacuum worker of a hidden session may be counted with it).
-- WAL senders (replication connections) are counted in rows of their own (wal_sender): they
-- have their own slots (max_wal_senders) and are never counted against the client ones.
-- Every value costs the server a conversion to send it: a backend row sends what the client
-- cannot work out (no backend age: the client has the start and the clock), times as
-- date_part's float8 (extract's numeric is converted through text).
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
             OR pg_has_role('pg_read_all_stats', 'USAGE')              AS sees_all_sessions,
           date_part('epoch', now())                                   AS now
), a AS MATERIALIZED (
    -- the function under the pg_stat_activity view, without the view's joins (role names
    -- are looked up once a role, below); a backend's position is its status slot (ids)
    SELECT pid, coalesce(application_name, '') AS application_name, usesysid, client_addr,
           backend_type, state, backend_start, xact_start, query_start, state_change,
           wait_event_type, wait_event, ordinality AS slot
    FROM pg_stat_get_activity(NULL) WITH ORDINALITY
    WHERE (backend_type IN ('client backend', 'walsender')
           OR (backend_type IS NULL AND usesysid IS NOT NULL AND datid IS NOT NULL))
      AND pid <> pg_backend_pid()
), counts AS (
    -- grouped on the columns as they are, labelled after (once a group, not once a backend)
    SELECT application_name, backend_type, state, usesysid,
           CASE WHEN $1::bool THEN client_addr END AS client_addr,
           count(*)::int AS n
    FROM a
    GROUP BY 1, 2, 3, 4, 5
), roles AS (
    -- every role with a session (the counts have them all), named once, as arrays on one row
    SELECT array_agg(usesysid) AS ids, array_agg(coalesce(pg_get_userbyid(usesysid)::text, ''))
             AS names
    FROM (SELECT DISTINCT usesysid FROM counts) r
), kinds AS NOT MATERIALIZED (
    -- one small integer for the kind of session (one comparison where three booleans cost
    -- three, on every backend): 0 waits on a lock; 1 idle in transaction; 2 active; 3 the
    -- rest (idle). A session a shown waiter waits on ranks 1 whatever its state (ranked).
    SELECT a.*,
           CASE WHEN wait_event_type = 'Lock' THEN 0
                WHEN state = 'idle' THEN 3
                WHEN state LIKE 'idle in transaction%' THEN 1
                WHEN state = 'active' THEN 2
                ELSE 3 END AS interest
    FROM a
    WHERE backend_type = 'client backend'
), candidates AS MATERIALIZED (
    -- each part a top-N by a narrow key (a heap of $2 rows, not a sort of every backend);
    -- the idle ones are read only while $4 names applications
    (SELECT * FROM kinds
     WHERE interest < 3
     ORDER BY interest, xact_start ASC NULLS LAST, backend_start, pid
     LIMIT $2)
    UNION ALL
    (SELECT * FROM kinds
     WHERE cardinality($4::text[]) > 0 AND application_name = ANY($4::text[])
       AND interest = 3
     ORDER BY backend_start, pid
     LIMIT $2)
), waiting AS MATERIALIZED (
    -- the lock waiters shown (lock waits rank first: the candidates hold the first $2) and
    -- whom each waits on: pg_blocking_pids reads the lock manager, once a waiter. A wait the
    -- client saw before (the same session, query, wait event and blockers) is `known`
    SELECT w.*, w.wait_key = ANY($5::text[]) AS known
    FROM (SELECT b.*, concat_ws(' ', pid, date_part('epoch', query_start), wait_event,
                                blocking_pids) AS wait_key
          FROM (SELECT pid, query_start, wait_event, pg_blocking_pids(pid) AS blocking_pids
                FROM candidates WHERE interest = 0
                OFFSET 0) b) w  -- OFFSET 0: pg_blocking_pids once a waiter, not once a use
), blockers AS (
    SELECT DISTINCT unnest(blocking_pids) AS pid FROM waiting
), extra AS (
    -- a session a shown waiter waits on that is no candidate (idle, holding a session-level
    -- advisory lock; or past the limit): the backends are read again only when there is one
    SELECT k.* FROM kinds k
    WHERE EXISTS (SELECT 1 FROM blockers WHERE pid NOT IN (SELECT pid FROM candidates))
      AND k.pid IN (SELECT pid FROM blockers)
      AND k.pid NOT IN (SELECT pid FROM candidates)
), ranked AS (
    SELECT c.*, CASE WHEN c.interest > 1 AND c.pid IN (SELECT pid FROM blockers) THEN 1
                     ELSE c.interest END AS rank_interest
    FROM (SELECT * FROM candidates UNION ALL SELECT * FROM extra) c
), top AS (
    -- the first $2 of the sessions worth a look (as if the blockers had ranked 1 from the
    -- start: the candidates and the extra rows hold every row that can make it), then the
    -- idle ones asked for
    SELECT t.*,
           row_number() OVER (ORDER BY rank_interest, xact_start ASC NULLS LAST,
                                       backend_start, pid) AS rank
    FROM ((SELECT * FROM ranked WHERE rank_interest < 3
           ORDER BY rank_interest, xact_start ASC NULLS LAST, backend_start, pid
           LIMIT $2)
          UNION ALL
          (SELECT * FROM ranked WHERE rank_interest = 3)) t
), ids AS (
    -- the backend id under each status slot of the rows shown: their query texts are read
    -- from their slots alone (pg_stat_get_activity(pid) would walk every backend for each)
{{ids}}
), waits AS (
{{waits}}
), blocked AS (
    -- the waiters shown, whom each waits on and since when, as arrays on one row: a shown row
    -- finds its own by position (a join of the rows shown to the waiters shown is planned as a
    -- loop over both, as estimates of a function's rows go: 40,000 steps in a pile-up)
    SELECT array_agg(wt.pid) AS pids, array_agg(wt.blocking_pids::text) AS blocking,
           array_agg(date_part('epoch', w.since)) AS since, array_agg(wt.wait_key) AS keys
    FROM waiting wt LEFT JOIN waits w ON w.pid = wt.pid
), sessions AS (
    SELECT 'count' AS kind, NULL::bigint AS rank, application_name,
           CASE WHEN backend_type IS NULL THEN 'not visible'
                ELSE coalesce(state, 'unknown') END AS state,
           coalesce(r.names[array_position(r.ids, usesysid)], '') AS usename,
           coalesce(host(client_addr), '') AS client_addr,
           coalesce(backend_type = 'walsender', false) AS wal_sender,
           n, NULL::int AS pid, NULL::float8 AS backend_start, NULL::float8 AS xact_age_s,
           NULL::float8 AS query_age_s, NULL::float8 AS state_age_s,
           NULL::text AS wait_event_type, NULL::text AS wait_event,
           NULL::float8 AS lock_since, NULL::text AS wait_key, NULL::text AS blocking_pids,
           NULL::text AS query
    FROM counts CROSS JOIN roles r
    UNION ALL
    SELECT 'backend', t.rank, t.application_name, coalesce(t.state, 'unknown'),
           coalesce(r.names[array_position(r.ids, t.usesysid)], ''),
           host(t.client_addr), NULL, NULL, t.pid,
           date_part('epoch', t.backend_start),
           date_part('epoch', now() - t.xact_start),
           date_part('epoch', now() - t.query_start),
           date_part('epoch', now() - t.state_change),
           t.wait_event_type, t.wait_event,
           b.since[array_position(b.pids, t.pid)],
           b.keys[array_position(b.pids, t.pid)],
           -- as text ('{12,34}'): an int[] column costs asyncpg a type lookup (3 statements more)
           b.blocking[array_position(b.pids, t.pid)],
           left(coalesce(q.query, ''), $3)
    FROM top t
    CROSS JOIN blocked b
    CROSS JOIN roles r
    LEFT JOIN ids i ON i.slot = t.slot
    -- the slot's backend is checked: a text is never shown beside another session
    LEFT JOIN LATERAL (SELECT pg_stat_get_backend_activity(i.beid) AS query
                       WHERE pg_stat_get_backend_pid(i.beid) = t.pid) q ON true
)
-- Unordered: the client orders the backends by rank (a sort of every row here cost the server
-- more than the rest of this last step). The settings come on a row of their own.
SELECT settings.*, sessions.*
FROM settings FULL JOIN sessions ON false

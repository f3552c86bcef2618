-- Per refresh, statement 2 of 2 (PostgreSQL 13): as backends.sql, but pg_locks has no
-- waitstart before 14, so a lock wait is timed from the start of the waiting query.
SELECT a.pid,
       coalesce(a.application_name, '')                          AS application_name,
       a.usename::text                                           AS usename,
       host(a.client_addr)                                       AS client_addr,
       coalesce(a.state, 'unknown')                              AS state,
       extract(epoch FROM now() - a.backend_start)::float8       AS backend_age_s,
       extract(epoch FROM a.backend_start)::float8                AS backend_start,
       extract(epoch FROM now() - a.xact_start)::float8          AS xact_age_s,
       extract(epoch FROM now() - a.query_start)::float8         AS query_age_s,
       extract(epoch FROM now() - a.state_change)::float8        AS state_age_s,
       a.wait_event_type,
       a.wait_event,
       CASE WHEN a.wait_event_type = 'Lock' THEN
            extract(epoch FROM now() - a.query_start)::float8
       END                                                       AS lock_wait_s,
       -- as text ('{12,34}'): an int[] column costs asyncpg a type lookup (3 statements more)
       CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid)::text END AS blocking_pids,
       left(coalesce(a.query, ''), $2)                           AS query
FROM pg_stat_activity a
WHERE a.backend_type = 'client backend'
  AND a.pid <> pg_backend_pid()
ORDER BY (a.wait_event_type = 'Lock') DESC NULLS LAST,
         (a.state LIKE 'idle in transaction%') DESC NULLS LAST,
         (a.state = 'active') DESC NULLS LAST,
         a.xact_start ASC NULLS LAST,
         a.backend_start ASC
LIMIT $1

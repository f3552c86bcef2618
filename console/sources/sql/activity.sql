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
ORDER BY 1, 2, 3, 4, 5

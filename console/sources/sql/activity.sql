-- Per refresh, statement 1 of 2: client backends counted in SQL by application and state.
-- Rows are (distinct applications × states), however many backends there are.
-- Our own session is left out; the collector adds it back to the cluster total.
SELECT coalesce(application_name, '')  AS application_name,
       coalesce(state, 'unknown')      AS state,
       count(*)::int                   AS n
FROM pg_stat_activity
WHERE backend_type = 'client backend'
  AND pid <> pg_backend_pid()
GROUP BY 1, 2
ORDER BY 1, 2

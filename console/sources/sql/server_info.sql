-- Once per connection: version, the slots that bound client connections, whether this is a
-- standby, and the settings a hot standby must not have below its primary's.
-- reserved_connections exists from PostgreSQL 16; before it, 0.
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

-- Once per connection: version and the slots that bound client connections.
-- reserved_connections exists from PostgreSQL 16; before it, 0.
SELECT current_setting('server_version')                           AS server_version,
       current_user::text                                          AS current_user,
       current_setting('server_version_num')::int                  AS server_version_num,
       current_setting('max_connections')::int                     AS max_connections,
       current_setting('superuser_reserved_connections')::int      AS superuser_reserved_connections,
       coalesce(current_setting('reserved_connections', true), '0')::int AS reserved_connections,
       -- Without pg_read_all_stats (pg_monitor has it) other roles' sessions show no state.
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
         OR pg_has_role('pg_read_all_stats', 'USAGE')              AS sees_all_sessions

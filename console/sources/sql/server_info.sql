-- Once per connection: version and the slots that bound client connections.
-- reserved_connections exists from PostgreSQL 16; before it, 0.
SELECT current_setting('server_version')                           AS server_version,
       current_setting('server_version_num')::int                  AS server_version_num,
       current_setting('max_connections')::int                     AS max_connections,
       current_setting('superuser_reserved_connections')::int      AS superuser_reserved_connections,
       coalesce(current_setting('reserved_connections', true), '0')::int AS reserved_connections

    -- a lock wait timed from the start of the waiting query: PostgreSQL 13's pg_locks has no
    -- waitstart, and a role may be refused pg_locks
    SELECT pid, query_start AS since FROM waiting

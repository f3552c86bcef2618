    -- PostgreSQL 16 and later: the ids come in the order of the slots
    SELECT slot, beid FROM pg_stat_get_backend_idset() WITH ORDINALITY AS i(beid, slot)

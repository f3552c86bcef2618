    -- PostgreSQL 13 to 15: a backend's id is its status slot
    SELECT slot, slot::int AS beid FROM top

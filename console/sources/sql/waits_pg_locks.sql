    -- since when each lock waiter shown has waited (pg_locks.waitstart, PostgreSQL 14+).
    -- pg_locks is read only when a waiter shown is new to the client: its walk of the lock
    -- tables costs ~1 ms at 3,000 connections however few wait, and a wait's start never moves
    SELECT l.pid, min(l.waitstart) AS since
    FROM pg_locks l
    WHERE NOT l.granted
      AND EXISTS (SELECT 1 FROM waiting WHERE NOT known)
      AND l.pid IN (SELECT pid FROM waiting)
    GROUP BY l.pid

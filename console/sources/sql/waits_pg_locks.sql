    -- since when each lock waiter shown has waited (pg_locks.waitstart, PostgreSQL 14+);
    -- pg_locks is not read at all when no backend shown waits on a lock
    SELECT l.pid, min(l.waitstart) AS since
    FROM pg_locks l
    WHERE NOT l.granted
      AND EXISTS (SELECT 1 FROM top WHERE top.wait_event_type = 'Lock')
      AND l.pid IN (SELECT pid FROM top WHERE top.wait_event_type = 'Lock')
    GROUP BY l.pid

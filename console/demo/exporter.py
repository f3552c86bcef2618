"""A pool instance's /metrics endpoint in the seed's format (db_pool_* gauges, label `service`),
served by prometheus_client on 127.0.0.1. The demo's simulated pods use it; so do the tests,
so the Prometheus and scrape paths are exercised against a real exporter."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Summary, start_http_server


@dataclass
class PoolGauges:
    size: float = 0
    idle: float = 0
    max: float = 0


class PoolExporter:
    """Serves one pool's gauges; `read` is called at every scrape for the current values."""

    def __init__(self, service: str, read: Callable[[], PoolGauges], port: int = 0) -> None:
        self.service = service
        self.read = read
        self.registry = CollectorRegistry()
        labels = ["service"]
        self._size = Gauge("db_pool_size", "Connections in the pool", labels,
                           registry=self.registry)
        self._idle = Gauge("db_pool_idle", "Idle connections in the pool", labels,
                           registry=self.registry)
        self._max = Gauge("db_pool_max", "Pool max_connections", labels, registry=self.registry)
        self._util = Gauge("db_pool_utilization", "size / max × 100 (the seed's 'utilization')",
                           labels, registry=self.registry)
        self.acquire = Summary("db_pool_acquire_duration_seconds", "Acquire wait", labels,
                               registry=self.registry)
        self.errors = Counter("db_pool_connection_errors", "Connection errors", labels,
                              registry=self.registry)
        for g in (self._size, self._idle, self._max, self._util):
            g.labels(service).set_function(lambda g=g: self._value(g))
        self.errors.labels(service)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = port

    def _value(self, gauge: Gauge) -> float:
        v = self.read()
        if gauge is self._size:
            return v.size
        if gauge is self._idle:
            return v.idle
        if gauge is self._max:
            return v.max
        return 100.0 * v.size / v.max if v.max else 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def start(self) -> PoolExporter:
        self._server, self._thread = start_http_server(self.port, addr="127.0.0.1",
                                                       registry=self.registry)
        self.port = self._server.server_port
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

"""A pool instance's /metrics endpoint in the seed's format (db_pool_* gauges, label `service`),
served by prometheus_client on 127.0.0.1. The demo's simulated pods use it; so do the tests,
so the Prometheus and scrape paths are exercised against a real exporter.

`read` is called at every scrape; when it returns None the pool does not exist (yet): the
endpoint answers with no pool series, like a pod that is up but has not created its pool."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric


@dataclass
class PoolGauges:
    size: float = 0
    idle: float = 0
    max: float = 0
    errors: int = 0


class _PoolCollector:
    def __init__(self, service: str, read: Callable[[], PoolGauges | None]) -> None:
        self.service, self.read = service, read

    def collect(self) -> Iterator[Metric]:
        g = self.read()
        if g is None:
            return
        for name, doc, value in (
            ("db_pool_size", "Connections in the pool", g.size),
            ("db_pool_idle", "Idle connections in the pool", g.idle),
            ("db_pool_max", "The pool's max_connections", g.max),
            (
                "db_pool_utilization",
                "size / max × 100 (the seed's 'utilization')",
                100.0 * g.size / g.max if g.max else 0.0,
            ),
        ):
            fam = GaugeMetricFamily(name, doc, labels=["service"])
            fam.add_metric([self.service], value)
            yield fam
        errors = CounterMetricFamily(
            "db_pool_connection_errors", "Connection errors", labels=["service"]
        )
        errors.add_metric([self.service], g.errors)
        yield errors


class PoolExporter:
    def __init__(self, service: str, read: Callable[[], PoolGauges | None], port: int = 0) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_PoolCollector(service, read))
        self._server: WSGIServer | None = None
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def start(self) -> PoolExporter:
        self._server, _thread = start_http_server(
            self.port, addr="127.0.0.1", registry=self.registry
        )
        self.port = self._server.server_port
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

"""A real SQLAlchemy pool instrumented by opentelemetry-instrumentation-sqlalchemy and exported
by opentelemetry-exporter-prometheus, for novapool's live tests (a process of its own, as a
service would be). It checks out --busy connections and keeps them, returns --idle more to the
pool, prints what the pool itself says (checked out / checked in) as one JSON line with its
/metrics URL, and serves until stdin closes."""

import argparse
import json
import sys

import sqlalchemy
from opentelemetry import metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import start_http_server

parser = argparse.ArgumentParser()
parser.add_argument("--url", required=True, help="postgresql+pg8000://...")
parser.add_argument("--busy", type=int, default=2)
parser.add_argument("--idle", type=int, default=1)
parser.add_argument("--name", default="billing", help="pool name and application_name")
args = parser.parse_args()

metrics.set_meter_provider(MeterProvider(metric_readers=[PrometheusMetricReader()]))
engine = sqlalchemy.create_engine(
    args.url,
    pool_size=args.busy + args.idle,
    max_overflow=0,
    connect_args={"application_name": args.name},
    pool_logging_name=args.name,  # the pool.name attribute (else the URL)
)
SQLAlchemyInstrumentor().instrument(engine=engine)
held = [engine.connect() for _ in range(args.busy + args.idle)]
for conn in held[args.busy :]:
    conn.close()  # back to the pool: idle
server, _ = start_http_server(0, addr="127.0.0.1")
pool = engine.pool
print(
    json.dumps(
        {
            "url": f"http://127.0.0.1:{server.server_port}/metrics",
            "checked_out": pool.checkedout(),  # type: ignore[attr-defined]
            "checked_in": pool.checkedin(),  # type: ignore[attr-defined]
        }
    ),
    flush=True,
)
sys.stdin.readline()  # until the test closes our stdin

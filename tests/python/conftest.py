"""Shared fixtures for the es-sim conformance suite.

The suite checks an Elasticsearch-compatible server with the official Python client. By default it
starts the project's in-memory emulator (`es-sim`):

* ``ES_SIM_BIN`` - path of the es-sim binary (default: ``<repo>/target/debug/es-sim``);
* ``ES_URL``     - run against an already running server instead (e.g. a real cluster); tests
  marked ``sim_only`` (fault injection, emulator defaults) are then skipped.

The binary is started as ``<bin> --port 0`` and must print ``es-sim listening on http://HOST:PORT``
as its first stdout line.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch, NotFoundError

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

STARTUP_TIMEOUT_S = 60
LISTEN_RE = re.compile(r"^es-sim listening on (https?://[^\s:/]+(?::\d+)?)/?$")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sim_only: needs es-sim specific behaviour (skipped when ES_URL is set)"
    )


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("ES_URL"):
        return
    skip = pytest.mark.skip(reason="es-sim only (ES_URL points at another server)")
    for item in items:
        if "sim_only" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config):
    if os.environ.get("ES_URL"):
        return f"es-sim conformance: target ES_URL={os.environ['ES_URL']}"
    return f"es-sim conformance: binary {_sim_binary()}"


def _sim_binary() -> Path:
    env = os.environ.get("ES_SIM_BIN")
    if env:
        return Path(env)
    return REPO_ROOT / "target" / "debug" / "es-sim"


class SimProcess:
    def __init__(self, binary: Path):
        self.binary = binary
        self.log = tempfile.NamedTemporaryFile(
            prefix="es-sim-", suffix=".log", delete=False, mode="w"
        )
        self.proc = subprocess.Popen(
            [str(binary), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=self.log,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        self._first_line: "queue.Queue[str | None]" = queue.Queue()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self):
        first = True
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if first:
                self._first_line.put(line)
                first = False
            else:
                # keep draining stdout so that the server never blocks on a full pipe
                try:
                    self.log.write(line)
                    self.log.flush()
                except ValueError:
                    return
        if first:
            self._first_line.put(None)

    def url(self) -> str:
        try:
            line = self._first_line.get(timeout=STARTUP_TIMEOUT_S)
        except queue.Empty:
            self.stop()
            raise RuntimeError(
                f"es-sim printed nothing within {STARTUP_TIMEOUT_S}s (log: {self.log.name})"
            )
        if line is None:
            code = self.proc.wait(timeout=5)
            raise RuntimeError(
                f"es-sim exited with {code} before printing its URL; log {self.log.name}:\n"
                + Path(self.log.name).read_text()[-4000:]
            )
        m = LISTEN_RE.match(line.strip())
        if not m:
            self.stop()
            raise RuntimeError(f"unexpected first line from es-sim: {line!r}")
        return m.group(1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        try:
            self.log.close()
        except Exception:
            pass


@pytest.fixture(scope="session")
def is_sim() -> bool:
    return not os.environ.get("ES_URL")


@pytest.fixture(scope="session")
def es_url():
    url = os.environ.get("ES_URL")
    if url:
        yield url.rstrip("/")
        return
    binary = _sim_binary()
    if not binary.exists():
        pytest.exit(
            f"es-sim binary not found at {binary}: build it with `cargo build -p es-sim` "
            "or set ES_SIM_BIN / ES_URL",
            returncode=3,
        )
    sim = SimProcess(binary)
    try:
        url = sim.url()
    except RuntimeError as e:
        pytest.exit(str(e), returncode=3)
    try:
        yield url
    finally:
        crashed = sim.proc.poll()
        sim.stop()
        if crashed is not None:
            print(f"\nes-sim died during the run (exit {crashed}); log: {sim.log.name}")
        else:
            Path(sim.log.name).unlink(missing_ok=True)


def make_client(url: str, **kwargs) -> Elasticsearch:
    kwargs.setdefault("request_timeout", 60)
    return Elasticsearch(url, **kwargs)


@pytest.fixture(scope="session")
def es(es_url) -> Elasticsearch:
    client = make_client(es_url)
    yield client
    client.close()


@pytest.fixture
def new_client(es_url):
    """Factory for extra clients (fresh product-check state, custom retry options, ...)."""
    made = []

    def factory(**kwargs):
        c = make_client(es_url, **kwargs)
        made.append(c)
        return c

    yield factory
    for c in made:
        c.close()


def _slug(request) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")
    return name[:40]


@pytest.fixture
def index_name(request, es):
    """A unique, not yet existing index name; deleted after the test."""
    name = f"t-{_slug(request)}-{uuid.uuid4().hex[:8]}"
    yield name
    try:
        es.options(ignore_status=404).indices.delete(index=name)
    except Exception:
        pass


@pytest.fixture
def index_factory(request, es):
    """Returns a function giving further unique index names (cleaned up afterwards)."""
    names = []

    def make(suffix: str = "") -> str:
        n = f"t-{_slug(request)}{('-' + suffix) if suffix else ''}-{uuid.uuid4().hex[:8]}"
        names.append(n)
        return n

    yield make
    for n in names:
        try:
            es.options(ignore_status=404).indices.delete(index=n)
        except Exception:
            pass


@pytest.fixture
def connector_factory(request, es):
    """Creates connectors with unique ids and index names; hard-deletes them after the test.

    ``make(**body)`` returns ``(connector_id, index_name)``; pass ``index_name=None`` to create
    one without an index.
    """
    created = []

    def make(**body):
        cid = f"c-{_slug(request)[:24]}-{uuid.uuid4().hex[:8]}"
        if "index_name" not in body:
            body["index_name"] = f"search-{uuid.uuid4().hex[:12]}"
        if body.get("index_name") is None:
            body.pop("index_name")
        body.setdefault("service_type", "super-connector")
        resp = es.connector.put(connector_id=cid, **body)
        assert resp["result"] == "created", resp
        created.append(cid)
        return cid, body.get("index_name")

    make.created = created
    yield make
    for cid in created:
        try:
            es.options(ignore_status=(400, 404)).connector.delete(
                connector_id=cid, hard=True, delete_sync_jobs=True
            )
        except Exception:
            pass


@pytest.fixture
def unique():
    return lambda prefix="x": f"{prefix}-{uuid.uuid4().hex[:10]}"

"""Helpers shared by the conformance tests (not fixtures: plain functions)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Optional

import pytest
from elastic_transport import HttpHeaders
from elasticsearch import ApiError, Elasticsearch

# Header that Elastic's own connectors service sends; needed for direct access to the connector
# system indices on real clusters (ignored or accepted by es-sim).
CONNECTORS_ORIGIN = {"x-elastic-product-origin": "connectors"}


@contextmanager
def raises_api(exc_type=ApiError, status: Optional[int] = None, error: Optional[str] = None):
    """Like pytest.raises for client ApiErrors, also checking the HTTP status and ES error type.

    Yields the pytest ExceptionInfo; ``info.value`` is the ApiError.
    """
    with pytest.raises(exc_type) as info:
        yield info
    e = info.value
    if status is not None:
        assert e.meta.status == status, f"expected HTTP {status}, got {e.meta.status}: {e.body!r}"
    if error is not None:
        assert e.error == error, f"expected error type {error!r}, got {e.error!r}: {e.body!r}"


def error_reason(e: ApiError) -> str:
    body = e.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"].get("reason") or ""
    return str(body)


def assert_error_envelope(e: ApiError, type_: str, status: int):
    """The JSON error envelope: {"error":{"root_cause":[...],"type","reason",...},"status"}."""
    body = e.body
    assert isinstance(body, dict), body
    assert body.get("status") == status, body
    err = body.get("error")
    assert isinstance(err, dict), body
    assert err.get("type") == type_, body
    assert isinstance(err.get("reason"), str) and err["reason"], body
    rc = err.get("root_cause")
    assert isinstance(rc, list) and rc, f"root_cause missing: {body}"
    assert all(isinstance(r, dict) and "type" in r and "reason" in r for r in rc), body


def raw(
    es: Elasticsearch,
    method: str,
    path: str,
    body: Optional[bytes] = None,
    headers: Optional[dict] = None,
):
    """Send bytes exactly as given through the client's transport node (no serializer, no
    header rewriting). Returns (status, headers, parsed_json_or_bytes)."""
    node = es.transport.node_pool.get()
    h = HttpHeaders(headers or {})
    resp = node.perform_request(method, path, body=body, headers=h)
    data: Any = resp.body
    ctype = resp.meta.headers.get("content-type", "") or ""
    if data and "json" in ctype:
        data = json.loads(data)
    return resp.meta.status, resp.meta.headers, data


def parse_ts(value: str) -> datetime:
    """Parse an ES ISO-8601 timestamp with any fraction length ("...Z")."""
    assert isinstance(value, str), value
    v = value.replace("Z", "+00:00")
    if "." in v:
        head, rest = v.split(".", 1)
        frac = ""
        i = 0
        while i < len(rest) and rest[i].isdigit():
            frac += rest[i]
            i += 1
        tail = rest[i:]
        v = f"{head}.{(frac + '000000')[:6]}{tail}"
    dt = datetime.fromisoformat(v)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def assert_recent(value: str, seconds: float = 120):
    dt = parse_ts(value)
    delta = abs((now_utc() - dt).total_seconds())
    assert delta < seconds, f"timestamp {value} is {delta:.0f}s away from now"


# --- connector fixtures data ---------------------------------------------------------------

CONFIG = {
    "host": {
        "default_value": None,
        "depends_on": [],
        "display": "textbox",
        "label": "Host",
        "options": [],
        "order": 1,
        "required": True,
        "sensitive": False,
        "tooltip": "The host to connect to",
        "type": "str",
        "ui_restrictions": [],
        "validations": [],
        "value": "",
    },
    "port": {
        "default_value": 443,
        "depends_on": [{"field": "host", "value": "x"}],
        "display": "numeric",
        "label": "Port",
        "options": [],
        "order": 2,
        "required": False,
        "sensitive": False,
        "tooltip": "Port",
        "type": "int",
        "ui_restrictions": ["advanced"],
        "validations": [{"type": "greater_than", "constraint": 0}],
        "value": 443,
    },
}

T0 = "2023-05-25T12:30:00.000Z"


def rule(id_, order, field="_", policy="include", rule_="regex", value=".*"):
    return {
        "created_at": T0,
        "field": field,
        "id": id_,
        "order": order,
        "policy": policy,
        "rule": rule_,
        "updated_at": T0,
        "value": value,
    }

"""Licence and API keys (§3.7 of the reference)."""

import base64

from elasticsearch import NotFoundError

from support import raises_api


def test_license(es):
    r = es.license.get()
    lic = r["license"]
    assert lic["status"] == "active"
    assert lic["type"] in ("basic", "trial", "gold", "platinum", "enterprise")


def test_api_key_create_get_invalidate(es, unique):
    name = unique("key")
    r = es.security.create_api_key(name=name, metadata={"purpose": "tests"})
    for k in ("id", "name", "api_key", "encoded"):
        assert k in r.body, r.body
    assert r["name"] == name
    assert base64.b64decode(r["encoded"]).decode() == f"{r['id']}:{r['api_key']}"

    g = es.security.get_api_key(id=r["id"])
    keys = g["api_keys"]
    assert len(keys) == 1
    assert keys[0]["id"] == r["id"] and keys[0]["name"] == name
    assert keys[0]["invalidated"] is False
    assert keys[0]["metadata"] == {"purpose": "tests"}

    inv = es.security.invalidate_api_key(ids=[r["id"]])
    assert inv["invalidated_api_keys"] == [r["id"]]
    assert inv["previously_invalidated_api_keys"] == []
    assert inv["error_count"] == 0
    inv = es.security.invalidate_api_key(ids=[r["id"]])
    assert inv["invalidated_api_keys"] == []
    assert inv["previously_invalidated_api_keys"] == [r["id"]]


def test_api_key_authenticates(es, new_client, unique):
    r = es.security.create_api_key(name=unique("auth"))
    client = new_client(api_key=r["encoded"])
    assert client.info()["tagline"] == "You Know, for Search"

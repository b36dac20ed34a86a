"""The connector system indices: mappings (dynamic:false), aliases, and the preflight flow."""

import os
import uuid

import pytest

from conftest import SimProcess, _sim_binary, make_client
from support import CONNECTORS_ORIGIN


def _props(mapping):
    return mapping["properties"]


def _type(props, dotted):
    node = {"properties": props}
    for part in dotted.split("."):
        node = node["properties"][part]
    return node.get("type", "object")


def test_connector_index_mapping(es, connector_factory):
    connector_factory()
    direct = es.options(headers=CONNECTORS_ORIGIN)
    m = direct.indices.get_mapping(index=".elastic-connectors")
    assert list(m.body.keys()) == [".elastic-connectors-v1"]
    mapping = m[".elastic-connectors-v1"]["mappings"]
    assert str(mapping.get("dynamic")).lower() == "false"
    props = _props(mapping)
    expected = {
        "index_name": "keyword",
        "service_type": "keyword",
        "status": "keyword",
        "language": "keyword",
        "error": "keyword",
        "last_sync_status": "keyword",
        "description": "text",
        "is_native": "boolean",
        "deleted": "boolean",
        "sync_now": "boolean",
        "last_seen": "date",
        "last_synced": "date",
        "last_sync_scheduled_at": "date",
        "last_indexed_document_count": "long",
        "last_deleted_document_count": "long",
        "scheduling.full.interval": "text",
    }
    for field, typ in expected.items():
        assert _type(props, field) == typ, field


def test_sync_jobs_index_mapping(es, connector_factory):
    cid, _ = connector_factory()
    es.connector.sync_job_post(id=cid)
    direct = es.options(headers=CONNECTORS_ORIGIN)
    m = direct.indices.get_mapping(index=".elastic-connectors-sync-jobs")
    assert list(m.body.keys()) == [".elastic-connectors-sync-jobs-v1"]
    mapping = m[".elastic-connectors-sync-jobs-v1"]["mappings"]
    assert str(mapping.get("dynamic")).lower() == "false"
    props = _props(mapping)
    expected = {
        "status": "keyword",
        "job_type": "keyword",
        "trigger_method": "keyword",
        "worker_hostname": "keyword",
        "error": "keyword",
        "created_at": "date",
        "started_at": "date",
        "completed_at": "date",
        "last_seen": "date",
        "canceled_at": "date",
        "cancelation_requested_at": "date",
        "indexed_document_count": "integer",
        "deleted_document_count": "integer",
        "indexed_document_volume": "integer",
        "total_document_count": "integer",
        "connector.id": "keyword",
        "connector.index_name": "keyword",
        "connector.service_type": "keyword",
        "connector.language": "keyword",
    }
    for field, typ in expected.items():
        assert _type(props, field) == typ, field


def test_unmapped_connector_fields_not_searchable(es, connector_factory):
    # dynamic:false - a field outside the mapping stays in _source but cannot be queried
    cid, _ = connector_factory()
    direct = es.options(headers=CONNECTORS_ORIGIN)
    direct.update(index=".elastic-connectors", id=cid, doc={"x_custom_field": "v"}, refresh=True)
    assert direct.get(index=".elastic-connectors", id=cid)["_source"]["x_custom_field"] == "v"
    r = direct.search(index=".elastic-connectors", query={"term": {"x_custom_field": "v"}})
    assert r["hits"]["total"]["value"] == 0


@pytest.fixture
def fresh_es():
    if os.environ.get("ES_URL"):
        pytest.skip("needs a fresh es-sim process")
    sim = SimProcess(_sim_binary())
    try:
        client = make_client(sim.url())
        yield client
        client.close()
    finally:
        sim.stop()
        os.unlink(sim.log.name)


@pytest.mark.sim_only
def test_preflight_creates_connector_indices(fresh_es):
    es = fresh_es.options(headers=CONNECTORS_ORIGIN)
    for name, alias in (
        (".elastic-connectors-v1", ".elastic-connectors"),
        (".elastic-connectors-sync-jobs-v1", ".elastic-connectors-sync-jobs"),
    ):
        assert es.indices.exists(index=name).body is False
        # the Python service's preflight: HEAD, then PUT with an empty body
        r = es.indices.create(index=name)
        assert r["acknowledged"] is True and r["index"] == name
        assert es.indices.exists(index=name).body is True
        assert es.indices.exists(index=alias).body is True
        mapping = es.indices.get_mapping(index=alias)[name]["mappings"]
        assert str(mapping.get("dynamic")).lower() == "false"
        assert mapping["properties"], "the connector indices come with their mappings"
    # and the APIs work on top of them
    cid = f"c-{uuid.uuid4().hex[:8]}"
    fresh_es.connector.put(connector_id=cid, index_name="search-fresh", service_type="x")
    jid = fresh_es.connector.sync_job_post(id=cid)["id"]
    assert es.get(index=".elastic-connectors-sync-jobs", id=jid)["_index"] == ".elastic-connectors-sync-jobs-v1"


@pytest.mark.sim_only
def test_fresh_server_connector_apis_without_indices(fresh_es):
    # no connector index yet: list gives count 0, get gives 404
    assert fresh_es.connector.list().body == {"count": 0, "results": []}
    assert fresh_es.connector.sync_job_list().body == {"count": 0, "results": []}
    from elasticsearch import NotFoundError

    with pytest.raises(NotFoundError):
        fresh_es.connector.get(connector_id="nope")

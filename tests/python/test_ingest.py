"""Ingest pipelines: put / get / delete (storage only; execution is not checked)."""

import uuid

import pytest
from elasticsearch import NotFoundError

from support import raises_api


@pytest.fixture
def pipeline_id(es):
    pid = f"t-pipeline-{uuid.uuid4().hex[:8]}"
    yield pid
    es.options(ignore_status=404).ingest.delete_pipeline(id=pid)


def test_get_missing_pipeline_404_empty_body(es, pipeline_id):
    with pytest.raises(NotFoundError) as info:
        es.ingest.get_pipeline(id=pipeline_id)
    assert info.value.meta.status == 404
    assert info.value.body == {}


def test_put_get_delete_pipeline(es, pipeline_id):
    processors = [
        {"set": {"field": "_extract_binary_content", "value": True}},
        {"remove": {"field": "tmp", "ignore_missing": True}},
    ]
    r = es.ingest.put_pipeline(
        id=pipeline_id,
        description="conformance pipeline",
        processors=processors,
        version=3,
        meta={"owner": "tests"},
    )
    assert r.body == {"acknowledged": True}
    g = es.ingest.get_pipeline(id=pipeline_id)
    assert list(g.body.keys()) == [pipeline_id]
    p = g[pipeline_id]
    assert p["description"] == "conformance pipeline"
    assert p["processors"] == processors
    assert p["version"] == 3
    assert p["_meta"] == {"owner": "tests"}

    # overwrite
    r = es.ingest.put_pipeline(id=pipeline_id, processors=[])
    assert r.body == {"acknowledged": True}
    assert es.ingest.get_pipeline(id=pipeline_id)[pipeline_id]["processors"] == []

    # listing all pipelines includes it
    assert pipeline_id in es.ingest.get_pipeline().body

    d = es.ingest.delete_pipeline(id=pipeline_id)
    assert d.body == {"acknowledged": True}
    with raises_api(NotFoundError, 404):
        es.ingest.get_pipeline(id=pipeline_id)


def test_delete_missing_pipeline_404(es, pipeline_id):
    with raises_api(NotFoundError, 404, "resource_not_found_exception"):
        es.ingest.delete_pipeline(id=pipeline_id)


def test_write_with_existing_pipeline_accepted(es, pipeline_id, index_name):
    es.ingest.put_pipeline(id=pipeline_id, processors=[{"set": {"field": "p", "value": "x"}}])
    w = es.index(index=index_name, id="1", document={"a": 1}, pipeline=pipeline_id)
    assert w["result"] == "created"
    r = es.bulk(
        operations=[{"index": {"_index": index_name, "_id": "2"}}, {"a": 2}],
        pipeline=pipeline_id,
    )
    assert r["errors"] is False

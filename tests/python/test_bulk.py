"""_bulk through helpers.bulk / streaming_bulk and the raw API."""

import json

import pytest
from elasticsearch import BadRequestError, helpers

from support import raw


def _actions(index, n, start=0):
    for i in range(start, start + n):
        yield {"_index": index, "_id": str(i), "_source": {"n": i, "tag": f"t{i % 7}", "body": "x" * (i % 50)}}


def test_helpers_bulk_thousands(es, index_name):
    success, errors = helpers.bulk(es, _actions(index_name, 5000), chunk_size=500)
    assert success == 5000
    assert errors == []
    es.indices.refresh(index=index_name)
    assert es.count(index=index_name)["count"] == 5000
    # stats_only: re-indexing the same ids = updates, still all successful
    ok, failed = helpers.bulk(es, _actions(index_name, 1000), stats_only=True)
    assert (ok, failed) == (1000, 0)
    es.indices.refresh(index=index_name)
    assert es.count(index=index_name)["count"] == 5000
    assert es.get(index=index_name, id="10")["_version"] == 2


def test_streaming_bulk_item_results(es, index_name):
    results = list(helpers.streaming_bulk(es, _actions(index_name, 1200), chunk_size=400))
    assert len(results) == 1200
    assert all(ok for ok, _ in results)
    for ok, item in results:
        (op, info), = item.items()
        assert op == "index"
        assert info["status"] == 201
        assert info["result"] == "created"


def test_bulk_mixed_ops_and_item_errors(es, index_name):
    es.index(index=index_name, id="exists", document={"v": 0}, refresh=True)
    ops = [
        {"create": {"_index": index_name, "_id": "exists"}},
        {"v": 1},
        {"index": {"_index": index_name, "_id": "new"}},
        {"v": 2},
        {"delete": {"_index": index_name, "_id": "missing"}},
        {"update": {"_index": index_name, "_id": "missing2"}},
        {"doc": {"v": 3}},
        {"update": {"_index": index_name, "_id": "exists"}},
        {"doc": {"w": 4}},
        {"update": {"_index": index_name, "_id": "upserted"}},
        {"doc": {"v": 5}, "doc_as_upsert": True},
        {"index": {"_index": index_name, "_id": "exists"}},
        {"v": 6},
        {"delete": {"_index": index_name, "_id": "new"}},
        {"create": {"_index": index_name, "_id": "created"}},
        {"v": 7},
    ]
    resp = es.bulk(operations=ops)
    assert resp.meta.status == 200
    assert resp["errors"] is True
    assert isinstance(resp["took"], int)
    items = resp["items"]
    assert len(items) == 9
    ops_seen = [next(iter(it)) for it in items]
    assert ops_seen == ["create", "index", "delete", "update", "update", "update", "index", "delete", "create"]

    create_conflict = items[0]["create"]
    assert create_conflict["status"] == 409
    assert create_conflict["_id"] == "exists"
    assert create_conflict["error"]["type"] == "version_conflict_engine_exception"
    assert "document already exists" in create_conflict["error"]["reason"]

    idx = items[1]["index"]
    assert idx["status"] == 201 and idx["result"] == "created"
    for k in ("_index", "_id", "_version", "result", "_shards", "_seq_no", "_primary_term", "status"):
        assert k in idx, idx
    assert idx["_index"] == index_name

    dele = items[2]["delete"]
    assert dele["status"] == 404
    assert dele["result"] == "not_found"
    assert "error" not in dele

    upd_missing = items[3]["update"]
    assert upd_missing["status"] == 404
    assert upd_missing["error"]["type"] == "document_missing_exception"

    upd = items[4]["update"]
    assert upd["status"] == 200 and upd["result"] == "updated"

    ups = items[5]["update"]
    assert ups["status"] == 201 and ups["result"] == "created"

    over = items[6]["index"]
    assert over["status"] == 200 and over["result"] == "updated"

    d2 = items[7]["delete"]
    assert d2["status"] == 200 and d2["result"] == "deleted"

    c2 = items[8]["create"]
    assert c2["status"] == 201 and c2["result"] == "created"

    assert es.get(index=index_name, id="exists")["_source"] == {"v": 6}
    assert es.get(index=index_name, id="upserted")["_source"] == {"v": 5}


def test_bulk_noop_update_item(es, index_name):
    es.index(index=index_name, id="1", document={"a": 1})
    resp = es.bulk(operations=[{"update": {"_index": index_name, "_id": "1"}}, {"doc": {"a": 1}}])
    item = resp["items"][0]["update"]
    assert resp["errors"] is False
    assert item["status"] == 200
    assert item["result"] == "noop"


def test_bulk_cas_item_conflict(es, index_name):
    w = es.index(index=index_name, id="1", document={"a": 1})
    resp = es.bulk(
        operations=[
            {"index": {"_index": index_name, "_id": "1", "if_seq_no": w["_seq_no"] + 100, "if_primary_term": 1}},
            {"a": 2},
            {"index": {"_index": index_name, "_id": "1", "if_seq_no": w["_seq_no"], "if_primary_term": w["_primary_term"]}},
            {"a": 3},
        ]
    )
    assert resp["errors"] is True
    assert resp["items"][0]["index"]["status"] == 409
    assert resp["items"][0]["index"]["error"]["type"] == "version_conflict_engine_exception"
    assert resp["items"][1]["index"]["status"] == 200


def test_bulk_index_in_path_and_refresh(es, index_name):
    resp = es.bulk(
        index=index_name,
        operations=[{"index": {"_id": "a"}}, {"x": 1}, {"index": {"_id": "b"}}, {"x": 2}],
        refresh=True,
    )
    assert resp["errors"] is False
    assert [it["index"]["_index"] for it in resp["items"]] == [index_name, index_name]
    # refresh=true: visible to search immediately
    assert es.search(index=index_name)["hits"]["total"]["value"] == 2


def test_bulk_empty_id_item_error(es, index_name):
    resp = es.bulk(
        operations=[
            {"index": {"_index": index_name, "_id": ""}},
            {"x": 1},
            {"index": {"_index": index_name, "_id": "ok"}},
            {"x": 2},
            {"index": {"_index": index_name}},
            {"x": 3},
        ]
    )
    assert resp["errors"] is True
    item = resp["items"][0]["index"]
    assert item["status"] == 400
    assert item["error"]["type"] == "illegal_argument_exception"
    assert item["error"]["reason"] == "if _id is specified it must not be empty"
    assert resp["items"][1]["index"]["result"] == "created"
    assert resp["items"][2]["index"]["result"] == "created"
    assert len(resp["items"][2]["index"]["_id"]) == 20


def test_bulk_without_trailing_newline_400(es, index_name):
    body = (
        json.dumps({"index": {"_index": index_name, "_id": "1"}})
        + "\n"
        + json.dumps({"a": 1})
    ).encode()
    status, headers, data = raw(
        es,
        "POST",
        "/_bulk",
        body=body,
        headers={"content-type": "application/x-ndjson", "accept": "application/json"},
    )
    assert status == 400, data
    assert headers.get("x-elastic-product") == "Elasticsearch"
    assert data["status"] == 400
    assert data["error"]["type"] == "illegal_argument_exception"
    assert data["error"]["reason"] == "The bulk request must be terminated by a newline [\\n]"


def test_bulk_empty_body_400(es):
    status, _, data = raw(
        es,
        "POST",
        "/_bulk",
        body=b"\n",
        headers={"content-type": "application/x-ndjson", "accept": "application/json"},
    )
    assert status == 400, data
    assert data["error"]["type"] == "action_request_validation_exception"
    assert "no requests added" in data["error"]["reason"]


def test_bulk_malformed_action_400(es, index_name):
    body = b'{"index":{"_index":"%s"}}\n{"a":1}\n{"bogus_op":{}}\n{}\n' % index_name.encode()
    status, _, data = raw(
        es,
        "POST",
        "/_bulk",
        body=body,
        headers={"content-type": "application/x-ndjson", "accept": "application/json"},
    )
    assert status == 400, data
    assert data["status"] == 400


def test_bulk_auto_creates_indices(es, index_factory):
    a, b = index_factory("a"), index_factory("b")
    resp = es.bulk(
        operations=[
            {"index": {"_index": a, "_id": "1"}},
            {"x": 1},
            {"update": {"_index": b, "_id": "1"}},
            {"doc": {"x": 2}, "doc_as_upsert": True},
        ]
    )
    assert resp["errors"] is False
    assert es.indices.exists(index=a).body is True
    assert es.indices.exists(index=b).body is True


def test_bulk_require_alias(es, index_name):
    resp = es.bulk(
        operations=[{"index": {"_index": index_name, "_id": "1", "require_alias": True}}, {"x": 1}]
    )
    assert resp["errors"] is True
    item = resp["items"][0]["index"]
    assert item["status"] == 404
    assert item["error"]["type"] == "index_not_found_exception"
    assert es.indices.exists(index=index_name).body is False


def test_bulk_update_with_script_and_upsert(es, index_name):
    es.index(index=index_name, id="1", document={"c": 1})
    resp = es.bulk(
        operations=[
            {"update": {"_index": index_name, "_id": "1"}},
            {"script": {"source": "ctx._source.c += params.n", "params": {"n": 2}}},
            {"update": {"_index": index_name, "_id": "2"}},
            {"script": {"source": "ctx._source.c += 1"}, "upsert": {"c": 10}},
        ]
    )
    assert resp["errors"] is False
    assert es.get(index=index_name, id="1")["_source"] == {"c": 3}
    assert es.get(index=index_name, id="2")["_source"] == {"c": 10}


def test_request_over_max_content_length_413_empty_body(es):
    # http.max_content_length defaults to 100mb: larger requests get 413 with an empty body
    line = b'{"index":{"_index":"t-too-large"}}\n{"f":"' + b"x" * 1000 + b'"}\n'
    body = line * (100 * 1024 * 1024 // len(line) + 1)
    assert len(body) > 100 * 1024 * 1024
    status, headers, data = raw(
        es,
        "POST",
        "/_bulk",
        body=body,
        headers={"content-type": "application/x-ndjson", "accept": "application/json"},
    )
    del body
    assert status == 413
    assert not data
    # the server keeps serving afterwards
    assert es.info()["tagline"] == "You Know, for Search"
    assert es.indices.exists(index="t-too-large").body is False

"""Single-document APIs: index / create / get / update / delete and optimistic concurrency."""

import pytest
from elasticsearch import BadRequestError, ConflictError, NotFoundError

from support import assert_error_envelope, raises_api

WRITE_KEYS = {"_index", "_id", "_version", "result", "_shards", "_seq_no", "_primary_term"}


def test_index_get_roundtrip(es, index_name):
    doc = {"title": "hello", "n": 1, "nested": {"a": [1, 2], "b": None}, "u": "žluťoučký 🐎"}
    w = es.index(index=index_name, id="1", document=doc)
    assert w.meta.status == 201
    assert set(w.body.keys()) >= WRITE_KEYS
    assert w["_index"] == index_name and w["_id"] == "1"
    assert w["result"] == "created"
    assert w["_version"] == 1
    assert w["_primary_term"] == 1
    assert w["_shards"]["failed"] == 0 and w["_shards"]["successful"] >= 1

    g = es.get(index=index_name, id="1")
    assert g.meta.status == 200
    assert g["found"] is True
    assert g["_index"] == index_name and g["_id"] == "1"
    assert g["_version"] == 1
    assert g["_seq_no"] == w["_seq_no"]
    assert g["_primary_term"] == 1
    assert g["_source"] == doc

    # overwrite -> 200 updated, version 2, seq_no grows
    w2 = es.index(index=index_name, id="1", document={"title": "bye"})
    assert w2.meta.status == 200
    assert w2["result"] == "updated"
    assert w2["_version"] == 2
    assert w2["_seq_no"] > w["_seq_no"]
    assert es.get(index=index_name, id="1")["_source"] == {"title": "bye"}


def test_auto_generated_id(es, index_name):
    w = es.index(index=index_name, document={"a": 1})
    assert w.meta.status == 201
    assert w["result"] == "created"
    assert isinstance(w["_id"], str) and len(w["_id"]) == 20
    assert es.get(index=index_name, id=w["_id"])["_source"] == {"a": 1}
    w2 = es.index(index=index_name, document={"a": 2})
    assert w2["_id"] != w["_id"]


def test_seq_no_increments_per_index(es, index_name):
    seqs = [es.index(index=index_name, id=str(i), document={"i": i})["_seq_no"] for i in range(5)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    d = es.delete(index=index_name, id="0")
    assert d["_seq_no"] > seqs[-1]


def test_get_missing_doc_404_body(es, index_name):
    es.indices.create(index=index_name)
    with pytest.raises(NotFoundError) as info:
        es.get(index=index_name, id="nope")
    e = info.value
    assert e.meta.status == 404
    # NOT the error envelope: exactly {"_index","_id","found":false}
    assert e.body == {"_index": index_name, "_id": "nope", "found": False}


def test_exists_and_get_source(es, index_name):
    es.index(index=index_name, id="1", document={"a": 1, "b": {"c": 2}})
    assert es.exists(index=index_name, id="1").body is True
    assert es.exists(index=index_name, id="2").body is False
    assert es.get_source(index=index_name, id="1").body == {"a": 1, "b": {"c": 2}}


def test_get_source_filtering(es, index_name):
    es.index(index=index_name, id="1", document={"a": 1, "b": {"c": 2, "d": 3}, "e": 4})
    g = es.get(index=index_name, id="1", source_includes=["b.c", "e"])
    assert g["_source"] == {"b": {"c": 2}, "e": 4}
    g = es.get(index=index_name, id="1", source_excludes=["b"])
    assert g["_source"] == {"a": 1, "e": 4}
    g = es.get(index=index_name, id="1", source=False)
    assert "_source" not in g.body
    assert g["found"] is True


def test_delete_doc(es, index_name):
    es.index(index=index_name, id="1", document={"a": 1})
    d = es.delete(index=index_name, id="1")
    assert d.meta.status == 200
    assert d["result"] == "deleted"
    assert d["_version"] == 2
    with pytest.raises(NotFoundError):
        es.get(index=index_name, id="1")


def test_delete_missing_doc_404_not_found(es, index_name):
    es.indices.create(index=index_name)
    with pytest.raises(NotFoundError) as info:
        es.delete(index=index_name, id="nope")
    body = info.value.body
    assert info.value.meta.status == 404
    assert body["result"] == "not_found"
    assert body["_index"] == index_name and body["_id"] == "nope"
    assert "error" not in body


def test_create_existing_id_409(es, index_name):
    es.create(index=index_name, id="1", document={"a": 1})
    with raises_api(ConflictError, 409, "version_conflict_engine_exception") as info:
        es.create(index=index_name, id="1", document={"a": 2})
    assert_error_envelope(info.value, "version_conflict_engine_exception", 409)
    reason = info.value.body["error"]["reason"]
    assert reason == "[1]: version conflict, document already exists (current version [1])", reason
    # op_type=create behaves the same
    with raises_api(ConflictError, 409, "version_conflict_engine_exception"):
        es.index(index=index_name, id="1", document={"a": 3}, op_type="create")
    assert es.get(index=index_name, id="1")["_source"] == {"a": 1}


def test_update_merges_recursively(es, index_name):
    es.index(
        index=index_name,
        id="1",
        document={"a": {"b": 1, "c": {"x": 1, "y": 2}}, "arr": [1, 2, 3], "keep": "k", "s": "old", "o": {"p": 1}},
    )
    u = es.update(
        index=index_name,
        id="1",
        doc={"a": {"c": {"y": 20, "z": 30}, "d": 4}, "arr": [9], "s": "new", "o": [{"p": 2}, {"p": 3}], "new": 1},
    )
    assert u.meta.status == 200
    assert u["result"] == "updated"
    assert u["_version"] == 2
    src = es.get(index=index_name, id="1")["_source"]
    assert src == {
        "a": {"b": 1, "c": {"x": 1, "y": 20, "z": 30}, "d": 4},
        "arr": [9],
        "keep": "k",
        "s": "new",
        "o": [{"p": 2}, {"p": 3}],
        "new": 1,
    }


def test_update_changing_field_type_400(es, index_name):
    # dynamic mapping made "s" a text field: an object no longer parses
    es.index(index=index_name, id="1", document={"s": "old"})
    with raises_api(BadRequestError, 400, "document_parsing_exception"):
        es.update(index=index_name, id="1", doc={"s": {"now": "object"}})
    assert es.get(index=index_name, id="1")["_source"] == {"s": "old"}


def test_update_null_value_replaces(es, index_name):
    es.index(index=index_name, id="1", document={"a": 1, "b": 2})
    es.update(index=index_name, id="1", doc={"a": None})
    assert es.get(index=index_name, id="1")["_source"] == {"a": None, "b": 2}


def test_update_noop_detection(es, index_name):
    w = es.index(index=index_name, id="1", document={"a": 1, "o": {"x": 1}})
    u = es.update(index=index_name, id="1", doc={"a": 1, "o": {"x": 1}})
    assert u.meta.status == 200
    assert u["result"] == "noop"
    assert u["_version"] == 1
    assert u["_seq_no"] == w["_seq_no"]
    assert u["_shards"]["total"] == 0
    # a partial doc that changes nothing is also a noop
    u = es.update(index=index_name, id="1", doc={"o": {}})
    assert u["result"] == "noop"
    # detect_noop=false forces a write
    u = es.update(index=index_name, id="1", doc={"a": 1}, detect_noop=False)
    assert u["result"] == "updated"
    assert u["_version"] == 2


def test_update_missing_doc_404(es, index_name):
    es.indices.create(index=index_name)
    with raises_api(NotFoundError, 404, "document_missing_exception") as info:
        es.update(index=index_name, id="nope", doc={"a": 1})
    assert_error_envelope(info.value, "document_missing_exception", 404)
    assert info.value.body["error"]["reason"] == "[nope]: document missing"


def test_update_doc_as_upsert(es, index_name):
    u = es.update(index=index_name, id="1", doc={"a": 1}, doc_as_upsert=True)
    assert u.meta.status == 201
    assert u["result"] == "created"
    assert u["_version"] == 1
    assert es.get(index=index_name, id="1")["_source"] == {"a": 1}
    u = es.update(index=index_name, id="1", doc={"b": 2}, doc_as_upsert=True)
    assert u.meta.status == 200
    assert u["result"] == "updated"
    assert es.get(index=index_name, id="1")["_source"] == {"a": 1, "b": 2}


def test_update_with_upsert_document(es, index_name):
    u = es.update(index=index_name, id="1", doc={"a": 2}, upsert={"a": 1, "init": True})
    assert u["result"] == "created"
    assert es.get(index=index_name, id="1")["_source"] == {"a": 1, "init": True}
    u = es.update(index=index_name, id="1", doc={"a": 2}, upsert={"a": 1, "init": True})
    assert u["result"] == "updated"
    assert es.get(index=index_name, id="1")["_source"] == {"a": 2, "init": True}


def test_update_returns_source_when_asked(es, index_name):
    es.index(index=index_name, id="1", document={"a": 1})
    u = es.update(index=index_name, id="1", doc={"b": 2}, source=True)
    assert u["get"]["_source"] == {"a": 1, "b": 2}
    assert u["get"]["found"] is True


def test_optimistic_concurrency_index(es, index_name):
    w = es.index(index=index_name, id="1", document={"v": 1})
    seq, term = w["_seq_no"], w["_primary_term"]
    ok = es.index(index=index_name, id="1", document={"v": 2}, if_seq_no=seq, if_primary_term=term)
    assert ok["result"] == "updated"
    with raises_api(ConflictError, 409, "version_conflict_engine_exception") as info:
        es.index(index=index_name, id="1", document={"v": 3}, if_seq_no=seq, if_primary_term=term)
    assert_error_envelope(info.value, "version_conflict_engine_exception", 409)
    reason = info.value.body["error"]["reason"]
    expected = (
        f"[1]: version conflict, required seqNo [{seq}], primary term [{term}]. "
        f"current document has seqNo [{ok['_seq_no']}] and primary term [{ok['_primary_term']}]"
    )
    assert reason == expected
    rc = info.value.body["error"]["root_cause"][0]
    assert rc["type"] == "version_conflict_engine_exception"
    assert rc.get("index") == index_name
    assert "index_uuid" in rc and "shard" in rc
    assert es.get(index=index_name, id="1")["_source"] == {"v": 2}


def test_optimistic_concurrency_update_and_delete(es, index_name):
    w = es.index(index=index_name, id="1", document={"v": 1})
    g = es.get(index=index_name, id="1")
    assert (g["_seq_no"], g["_primary_term"]) == (w["_seq_no"], w["_primary_term"])
    u = es.update(
        index=index_name, id="1", doc={"v": 2}, if_seq_no=g["_seq_no"], if_primary_term=g["_primary_term"]
    )
    assert u["result"] == "updated"
    with raises_api(ConflictError, 409, "version_conflict_engine_exception"):
        es.update(
            index=index_name,
            id="1",
            doc={"v": 3},
            if_seq_no=g["_seq_no"],
            if_primary_term=g["_primary_term"],
        )
    with raises_api(ConflictError, 409, "version_conflict_engine_exception"):
        es.delete(index=index_name, id="1", if_seq_no=g["_seq_no"], if_primary_term=g["_primary_term"])
    d = es.delete(index=index_name, id="1", if_seq_no=u["_seq_no"], if_primary_term=u["_primary_term"])
    assert d["result"] == "deleted"


def test_optimistic_concurrency_wrong_primary_term(es, index_name):
    w = es.index(index=index_name, id="1", document={"v": 1})
    with raises_api(ConflictError, 409, "version_conflict_engine_exception"):
        es.index(
            index=index_name,
            id="1",
            document={"v": 2},
            if_seq_no=w["_seq_no"],
            if_primary_term=w["_primary_term"] + 5,
        )


def test_update_retry_on_conflict_param_accepted(es, index_name):
    es.index(index=index_name, id="1", document={"v": 1})
    u = es.update(index=index_name, id="1", doc={"v": 2}, retry_on_conflict=3)
    assert u["result"] == "updated"


def test_unknown_pipeline_on_write_400(es, index_name):
    with raises_api(BadRequestError, 400):
        es.index(index=index_name, id="1", document={"a": 1}, pipeline="no-such-pipeline-xyz")


def test_update_with_painless_script(es, index_name):
    es.index(index=index_name, id="1", document={"counter": 1, "tags": ["a"]})
    u = es.update(
        index=index_name,
        id="1",
        script={"source": "ctx._source.counter += params.n", "lang": "painless", "params": {"n": 4}},
    )
    assert u["result"] == "updated"
    assert es.get(index=index_name, id="1")["_source"]["counter"] == 5
    # scripted upsert on a missing doc inserts the upsert document
    u = es.update(
        index=index_name,
        id="2",
        script={"source": "ctx._source.counter += 1"},
        upsert={"counter": 100},
    )
    assert u["result"] == "created"
    assert es.get(index=index_name, id="2")["_source"] == {"counter": 100}


def test_external_versioning(es, index_name):
    w = es.index(index=index_name, id="1", document={"a": 1}, version=10, version_type="external")
    assert w["_version"] == 10
    w = es.index(index=index_name, id="1", document={"a": 2}, version=11, version_type="external")
    assert w["_version"] == 11
    with raises_api(ConflictError, 409, "version_conflict_engine_exception"):
        es.index(index=index_name, id="1", document={"a": 3}, version=11, version_type="external")
    assert es.get(index=index_name, id="1")["_source"] == {"a": 2}
    # the same through _bulk item metadata
    r = es.bulk(
        operations=[
            {"index": {"_index": index_name, "_id": "2", "version": 7, "version_type": "external"}},
            {"a": 1},
            {"index": {"_index": index_name, "_id": "2", "version": 3, "version_type": "external"}},
            {"a": 2},
        ]
    )
    assert r["items"][0]["index"]["_version"] == 7
    assert r["items"][1]["index"]["status"] == 409


def test_internal_version_param_rejected_400(es, index_name):
    es.index(index=index_name, id="1", document={"a": 1})
    # since 7.0 internal versioning cannot be used for optimistic concurrency control
    with raises_api(BadRequestError, 400, "action_request_validation_exception") as info:
        es.index(index=index_name, id="1", document={"a": 2}, version=1)
    assert "if_seq_no" in info.value.body["error"]["reason"]


def test_put_mapping_type_conflict_400(es, index_name):
    es.indices.create(index=index_name, mappings={"properties": {"title": {"type": "keyword"}}})
    with raises_api(BadRequestError, 400, "illegal_argument_exception") as info:
        es.indices.put_mapping(index=index_name, properties={"title": {"type": "long"}})
    assert "cannot be changed from type [keyword] to [long]" in info.value.body["error"]["reason"]


def test_mapped_type_mismatch_rejected(es, index_name):
    es.indices.create(index=index_name, mappings={"properties": {"n": {"type": "long"}}})
    with raises_api(BadRequestError, 400, "document_parsing_exception"):
        es.index(index=index_name, id="1", document={"n": "not a number"})
    with raises_api(NotFoundError, 404):
        es.get(index=index_name, id="1")


def test_index_create_op_auto_id(es, index_name):
    w = es.index(index=index_name, document={"a": 1}, op_type="create")
    assert w.meta.status == 201 and w["result"] == "created"

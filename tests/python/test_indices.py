"""Index management: create / exists / get / mappings / aliases / refresh / delete."""

import pytest
from elasticsearch import BadRequestError, NotFoundError

from support import assert_error_envelope, error_reason, raises_api

MAPPING = {
    "properties": {
        "title": {"type": "keyword"},
        "body": {"type": "text"},
        "n": {"type": "long"},
        "ts": {"type": "date"},
        "flag": {"type": "boolean"},
    }
}


def test_create_exists_delete(es, index_name):
    assert es.indices.exists(index=index_name).body is False
    resp = es.indices.create(index=index_name)
    assert resp.meta.status == 200
    assert resp.body == {"acknowledged": True, "shards_acknowledged": True, "index": index_name}
    assert es.indices.exists(index=index_name).body is True
    resp = es.indices.delete(index=index_name)
    assert resp.body == {"acknowledged": True}
    assert es.indices.exists(index=index_name).body is False


def test_create_with_settings_and_mappings(es, index_name):
    es.indices.create(
        index=index_name,
        settings={
            "number_of_shards": 1,
            "analysis": {"analyzer": {"my_an": {"type": "custom", "tokenizer": "standard"}}},
        },
        mappings=MAPPING,
    )
    m = es.indices.get_mapping(index=index_name)
    assert list(m.body.keys()) == [index_name]
    assert m[index_name]["mappings"]["properties"] == MAPPING["properties"]

    g = es.indices.get(index=index_name)
    assert set(g[index_name].keys()) >= {"aliases", "mappings", "settings"}
    assert g[index_name]["mappings"]["properties"] == MAPPING["properties"]
    # settings come back under "index", values as strings, analyzers stored as given
    settings = g[index_name]["settings"]["index"]
    assert settings["number_of_shards"] == "1"
    assert settings["analysis"]["analyzer"]["my_an"] == {"type": "custom", "tokenizer": "standard"}
    assert settings["provided_name"] == index_name
    assert "uuid" in settings and "creation_date" in settings

    s = es.indices.get_settings(index=index_name)
    assert s[index_name]["settings"]["index"]["number_of_shards"] == "1"


def test_dynamic_false_mapping_kept(es, index_name):
    es.indices.create(
        index=index_name,
        mappings={"dynamic": "false", "properties": {"id": {"type": "keyword"}}},
    )
    m = es.indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert str(m.get("dynamic")).lower() == "false"
    assert m["properties"] == {"id": {"type": "keyword"}}
    # unmapped fields stay in _source but are not added to the mapping
    es.index(index=index_name, id="1", document={"id": "a", "other": "x"}, refresh=True)
    assert es.get(index=index_name, id="1")["_source"] == {"id": "a", "other": "x"}
    m = es.indices.get_mapping(index=index_name)[index_name]["mappings"]
    assert "other" not in m.get("properties", {})
    # and are not searchable
    r = es.search(index=index_name, query={"term": {"other": "x"}})
    assert r["hits"]["total"]["value"] == 0
    r = es.search(index=index_name, query={"term": {"id": "a"}})
    assert r["hits"]["total"]["value"] == 1


def test_put_mapping_adds_field(es, index_name):
    es.indices.create(index=index_name, mappings=MAPPING)
    resp = es.indices.put_mapping(index=index_name, properties={"extra": {"type": "keyword"}})
    assert resp.body == {"acknowledged": True}
    props = es.indices.get_mapping(index=index_name)[index_name]["mappings"]["properties"]
    assert props["extra"] == {"type": "keyword"}
    assert props["title"] == {"type": "keyword"}


def test_create_existing_index_400(es, index_name):
    es.indices.create(index=index_name)
    with raises_api(BadRequestError, 400, "resource_already_exists_exception") as info:
        es.indices.create(index=index_name)
    assert_error_envelope(info.value, "resource_already_exists_exception", 400)
    reason = info.value.body["error"]["reason"]
    assert reason.startswith(f"index [{index_name}/") and reason.endswith("] already exists"), reason


@pytest.mark.parametrize(
    "bad",
    [
        "UPPERCASE",
        "_leading-underscore",
        "-leading-dash",
        "+leading-plus",
        "has space",
        "has,comma",
        "has*star",
        "has?question",
        'has"quote',
        "has<lt",
        "has>gt",
        "has|pipe",
        "has\\backslash",
        "has/slash",
        "has#hash",
        "has:colon",
        ".",
        "..",
        "x" * 256,
    ],
    ids=lambda v: v if len(v) < 40 else "too-long",
)
def test_invalid_index_name_400(es, bad):
    with raises_api(BadRequestError, 400, "invalid_index_name_exception") as info:
        es.indices.create(index=bad)
    assert_error_envelope(info.value, "invalid_index_name_exception", 400)


@pytest.mark.parametrize(
    "call",
    [
        lambda es, n: es.indices.get_mapping(index=n),
        lambda es, n: es.indices.get(index=n),
        lambda es, n: es.indices.delete(index=n),
        lambda es, n: es.indices.refresh(index=n),
        lambda es, n: es.search(index=n),
        lambda es, n: es.count(index=n),
        lambda es, n: es.get(index=n, id="1"),
    ],
    ids=["get_mapping", "get", "delete", "refresh", "search", "count", "get_doc"],
)
def test_missing_index_404(es, index_name, call):
    with raises_api(NotFoundError, 404, "index_not_found_exception") as info:
        call(es, index_name)
    assert_error_envelope(info.value, "index_not_found_exception", 404)
    err = info.value.body["error"]
    assert err["reason"] == f"no such index [{index_name}]"
    assert err.get("index") == index_name
    assert err.get("resource.id") == index_name
    assert err.get("resource.type") == "index_or_alias"


def test_delete_ignore_unavailable(es, index_name):
    resp = es.indices.delete(index=index_name, ignore_unavailable=True)
    assert resp.body == {"acknowledged": True}


def test_refresh_response(es, index_name):
    es.indices.create(index=index_name)
    resp = es.indices.refresh(index=index_name)
    shards = resp["_shards"]
    assert shards["failed"] == 0
    assert shards["successful"] >= 1
    assert "total" in shards


def test_alias_resolves_to_concrete_index(es, index_name):
    alias = index_name + "-alias"
    es.indices.create(index=index_name, aliases={alias: {}}, mappings=MAPPING)
    assert es.indices.exists(index=alias).body is True
    # mapping through the alias is keyed by the concrete index
    m = es.indices.get_mapping(index=alias)
    assert list(m.body.keys()) == [index_name]
    aliases = es.indices.get(index=index_name)[index_name]["aliases"]
    assert alias in aliases
    # writes and reads through the alias name the concrete index
    w = es.index(index=alias, id="1", document={"title": "a"}, refresh=True)
    assert w["_index"] == index_name
    g = es.get(index=alias, id="1")
    assert g["_index"] == index_name
    hits = es.search(index=alias)["hits"]["hits"]
    assert [h["_index"] for h in hits] == [index_name]


def test_index_auto_created_on_write(es, index_name):
    resp = es.index(index=index_name, id="1", document={"a": 1})
    assert resp.meta.status == 201
    assert es.indices.exists(index=index_name).body is True


# --- values a field's type cannot hold; the get field mapping API (issue 12) ------------------


def _innermost(e):
    c = e.body["error"]
    while isinstance(c.get("caused_by"), dict):
        c = c["caused_by"]
    return c


@pytest.mark.parametrize(
    "doc,field,ty,preview,inner",
    [
        ({"n": 2**63}, "n", "long", "9223372036854775808", "out of range of long"),
        ({"n": -(2**63) - 1}, "n", "long", "-9223372036854775809", "out of range of long"),
        ({"big": 2**63}, "big", "long", "9223372036854775808", "out of range of long"),
        ({"big": 10**30}, "big", "long", "1000000000000000000000000000000", "out of range of long"),
        ({"i": 2**31}, "i", "integer", "2147483648", "out of range of int"),
    ],
)
def test_integer_out_of_range_400(es, index_name, doc, field, ty, preview, inner):
    es.indices.create(index=index_name, mappings={"properties": {"n": {"type": "long"}, "i": {"type": "integer"}}})
    with raises_api(BadRequestError, 400, "document_parsing_exception") as info:
        es.index(index=index_name, id="1", document=doc)
    assert error_reason(info.value).endswith(
        f"failed to parse field [{field}] of type [{ty}] in document with id '1'. Preview of field's value: '{preview}'"
    ), info.value.body
    assert inner in _innermost(info.value)["reason"], info.value.body
    # nothing was indexed, and a big integer left no dynamic mapping behind
    props = es.indices.get_mapping(index=index_name)[index_name]["mappings"]["properties"]
    assert "big" not in props
    es.index(index=index_name, id="2", document={"n": 2**63 - 1, "i": -(2**31)}, refresh=True)
    assert es.count(index=index_name)["count"] == 1


def test_mixed_array_in_new_field_400(es, index_name):
    es.indices.create(index=index_name)
    with raises_api(BadRequestError, 400, "document_parsing_exception") as info:
        es.index(index=index_name, id="1", document={"x": [1, "two", {"three": 3}]})
    assert error_reason(info.value).endswith(
        "failed to parse field [x] of type [long] in document with id '1'. Preview of field's value: 'two'"
    ), info.value.body
    assert "properties" not in es.indices.get_mapping(index=index_name)[index_name]["mappings"]
    with raises_api(BadRequestError, 400, "document_parsing_exception") as info:
        es.index(index=index_name, id="1", document={"z": [{"a": 1}, 2]})
    assert "object mapping for [z] tried to parse field [z] as object, but found a concrete value" in error_reason(
        info.value
    )


def test_get_field_mapping(es, index_name):
    es.indices.create(
        index=index_name,
        mappings={
            "properties": {
                "title": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
                "user": {"properties": {"id": {"type": "long"}}},
            }
        },
    )
    r = es.indices.get_field_mapping(index=index_name, fields="title")
    assert r.body == {
        index_name: {
            "mappings": {
                "title": {
                    "full_name": "title",
                    "mapping": {"title": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}},
                }
            }
        }
    }
    r = es.indices.get_field_mapping(index=index_name, fields="user.id,title.keyword,nope")
    assert r.body[index_name]["mappings"] == {
        "user.id": {"full_name": "user.id", "mapping": {"id": {"type": "long"}}},
        "title.keyword": {"full_name": "title.keyword", "mapping": {"keyword": {"type": "keyword", "ignore_above": 256}}},
    }
    r = es.indices.get_field_mapping(index=index_name, fields="user.*")
    assert list(r.body[index_name]["mappings"]) == ["user.id"]
    r = es.indices.get_field_mapping(fields="user.id")
    assert r.body[index_name]["mappings"]["user.id"]["full_name"] == "user.id"
    with raises_api(NotFoundError, 404, "index_not_found_exception"):
        es.indices.get_field_mapping(index=index_name + "-missing", fields="title")

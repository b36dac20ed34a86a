"""_search, _count, sorting/paging, _source filtering, total hits, near-real-time visibility."""

from datetime import datetime, timedelta, timezone

import pytest
from elasticsearch import BadRequestError, NotFoundError, helpers

from support import raises_api

N = 30
COLORS = ["red", "green", "blue"]
MAPPING = {
    "properties": {
        "id": {"type": "keyword"},
        "n": {"type": "long"},
        "color": {"type": "keyword"},
        "tags": {"type": "keyword"},
        "opt": {"type": "keyword"},
        "ts": {"type": "date"},
        "flag": {"type": "boolean"},
        "obj": {"properties": {"a": {"type": "long"}, "b": {"type": "keyword"}}},
    }
}
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def _doc(i):
    d = {
        "id": f"d{i:02d}",
        "n": i,
        "color": COLORS[i % 3],
        "tags": [f"t{i % 4}", "all"],
        "ts": (NOW - timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "flag": i % 2 == 0,
        "obj": {"a": i, "b": "x" if i < 10 else "y"},
    }
    if i % 2 == 0:
        d["opt"] = f"o{i}"
    return d


@pytest.fixture
def data(es, index_name):
    es.indices.create(index=index_name, mappings=MAPPING)
    helpers.bulk(es, ({"_index": index_name, "_id": f"d{i:02d}", "_source": _doc(i)} for i in range(N)))
    es.indices.refresh(index=index_name)
    return index_name


def ids(resp):
    return [h["_id"] for h in resp["hits"]["hits"]]


def search_ids(es, index, query, **kw):
    kw.setdefault("size", 100)
    return sorted(ids(es.search(index=index, query=query, **kw)))


def expect(pred):
    return sorted(f"d{i:02d}" for i in range(N) if pred(i))


def test_response_shape(es, data):
    r = es.search(index=data, size=3)
    body = r.body
    for k in ("took", "timed_out", "_shards", "hits"):
        assert k in body, body
    assert body["timed_out"] is False
    sh = body["_shards"]
    assert set(sh.keys()) >= {"total", "successful", "skipped", "failed"}
    assert sh["failed"] == 0
    assert body["hits"]["total"] == {"value": N, "relation": "eq"}
    assert len(body["hits"]["hits"]) == 3
    h = body["hits"]["hits"][0]
    assert h["_index"] == data
    assert set(h.keys()) >= {"_index", "_id", "_score", "_source"}
    assert isinstance(h["_score"], (int, float))
    assert isinstance(body["hits"]["max_score"], (int, float))


def test_default_size_is_10(es, data):
    assert len(es.search(index=data)["hits"]["hits"]) == 10


def test_match_all(es, data):
    assert search_ids(es, data, {"match_all": {}}) == expect(lambda i: True)


def test_term(es, data):
    assert search_ids(es, data, {"term": {"color": "red"}}) == expect(lambda i: i % 3 == 0)
    assert search_ids(es, data, {"term": {"color": {"value": "green"}}}) == expect(lambda i: i % 3 == 1)
    assert search_ids(es, data, {"term": {"n": 7}}) == ["d07"]
    assert search_ids(es, data, {"term": {"flag": True}}) == expect(lambda i: i % 2 == 0)
    assert search_ids(es, data, {"term": {"tags": "t1"}}) == expect(lambda i: i % 4 == 1)
    assert search_ids(es, data, {"term": {"obj.b": "x"}}) == expect(lambda i: i < 10)
    assert search_ids(es, data, {"term": {"_id": "d05"}}) == ["d05"]
    assert search_ids(es, data, {"term": {"color": "nope"}}) == []


def test_terms(es, data):
    assert search_ids(es, data, {"terms": {"color": ["red", "blue"]}}) == expect(lambda i: i % 3 != 1)
    assert search_ids(es, data, {"terms": {"_id": ["d01", "d02", "zz"]}}) == ["d01", "d02"]
    assert search_ids(es, data, {"terms": {"n": [1, 2, 3]}}) == ["d01", "d02", "d03"]


def test_ids(es, data):
    assert search_ids(es, data, {"ids": {"values": ["d03", "d09", "missing"]}}) == ["d03", "d09"]


def test_range(es, data):
    assert search_ids(es, data, {"range": {"n": {"gte": 5, "lt": 9}}}) == ["d05", "d06", "d07", "d08"]
    assert search_ids(es, data, {"range": {"n": {"gt": 27}}}) == ["d28", "d29"]
    assert search_ids(es, data, {"range": {"n": {"lte": 1}}}) == ["d00", "d01"]
    # date math: docs are NOW - i hours
    got = search_ids(es, data, {"range": {"ts": {"gte": "now-90m"}}})
    assert got == ["d00", "d01"]
    ts5 = _doc(5)["ts"]
    assert search_ids(es, data, {"range": {"ts": {"lt": ts5}}}) == expect(lambda i: i > 5)
    # keyword range (lexicographic)
    assert search_ids(es, data, {"range": {"id": {"gte": "d27"}}}) == ["d27", "d28", "d29"]


def test_range_date_math_rounding(es, data):
    today = NOW.replace(hour=0, minute=0, second=0)
    got = search_ids(es, data, {"range": {"ts": {"gte": "now/d"}}})
    assert got == expect(lambda i: NOW - timedelta(hours=i) >= today)
    got = search_ids(es, data, {"range": {"ts": {"gt": "now-1d/d", "lt": "now+1h"}}})
    yesterday = today - timedelta(days=1)
    assert got == expect(lambda i: NOW - timedelta(hours=i) >= yesterday + timedelta(days=1))


def test_range_date_custom_format(es, data):
    # `format` in a range query parses the query values with a Java date pattern
    got = search_ids(
        es,
        data,
        {"range": {"ts": {"gte": (NOW - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S"), "format": "yyyy-MM-dd HH:mm:ss"}}},
    )
    assert got == ["d00", "d01", "d02"]
    day = (NOW - timedelta(days=1)).strftime("%d/%m/%Y")
    got = search_ids(es, data, {"range": {"ts": {"gte": day, "format": "dd/MM/yyyy"}}})
    start = (NOW - timedelta(days=1)).replace(hour=0, minute=0, second=0)
    assert got == expect(lambda i: NOW - timedelta(hours=i) >= start)
    got = search_ids(es, data, {"range": {"ts": {"gte": "1970-01-01||+1000y", "format": "yyyy-MM-dd"}}})
    assert got == []


def test_date_sort_values_are_epoch_millis(es, data):
    r = es.search(index=data, sort=[{"ts": "desc"}], size=2)
    h = r["hits"]["hits"][0]
    assert h["_id"] == "d00"
    expected = int(NOW.timestamp() * 1000)
    assert h["sort"] == [expected]
    # search_after accepts the value back
    r = es.search(index=data, sort=[{"ts": "desc"}], size=1, search_after=h["sort"])
    assert ids(r) == ["d01"]


def test_exists(es, data):
    assert search_ids(es, data, {"exists": {"field": "opt"}}) == expect(lambda i: i % 2 == 0)
    assert search_ids(es, data, {"exists": {"field": "unmapped_field"}}) == []
    assert search_ids(es, data, {"exists": {"field": "obj.a"}}) == expect(lambda i: True)
    # null and empty arrays do not count as existing
    es.index(index=data, id="null-opt", document={"id": "null-opt", "opt": None, "tags": []}, refresh=True)
    got = search_ids(es, data, {"exists": {"field": "opt"}})
    assert "null-opt" not in got
    assert "null-opt" not in search_ids(es, data, {"exists": {"field": "tags"}})
    assert "null-opt" in search_ids(es, data, {"exists": {"field": "id"}})


def test_ids_empty_and_terms_empty(es, data):
    assert search_ids(es, data, {"ids": {"values": []}}) == []
    assert search_ids(es, data, {"terms": {"color": []}}) == []


def test_bool(es, data):
    q = {
        "bool": {
            "must": [{"term": {"color": "red"}}],
            "filter": {"range": {"n": {"gte": 10}}},
            "must_not": [{"term": {"n": 12}}],
        }
    }
    assert search_ids(es, data, q) == expect(lambda i: i % 3 == 0 and i >= 10 and i != 12)
    # should alone: at least one must match
    q = {"bool": {"should": [{"term": {"n": 1}}, {"term": {"n": 2}}]}}
    assert search_ids(es, data, q) == ["d01", "d02"]
    # should next to filter: optional (minimum_should_match 0)
    q = {"bool": {"filter": [{"term": {"color": "blue"}}], "should": [{"term": {"n": 2}}]}}
    assert search_ids(es, data, q) == expect(lambda i: i % 3 == 2)
    # explicit minimum_should_match
    q = {
        "bool": {
            "filter": [{"term": {"color": "blue"}}],
            "should": [{"term": {"n": 2}}, {"term": {"n": 5}}],
            "minimum_should_match": 1,
        }
    }
    assert search_ids(es, data, q) == ["d02", "d05"]
    # must_not only
    q = {"bool": {"must_not": {"exists": {"field": "opt"}}}}
    assert search_ids(es, data, q) == expect(lambda i: i % 2 == 1)
    # nested bool
    q = {"bool": {"should": [{"bool": {"filter": [{"term": {"n": 3}}]}}, {"ids": {"values": ["d04"]}}]}}
    assert search_ids(es, data, q) == ["d03", "d04"]


def test_match_on_keyword(es, data):
    assert search_ids(es, data, {"match": {"id": "d11"}}) == ["d11"]


def test_unknown_query_400(es, data):
    with raises_api(BadRequestError, 400, "parsing_exception") as info:
        es.search(index=data, query={"no_such_query": {}})
    assert "unknown query [no_such_query]" in info.value.body["error"]["reason"]


def test_sort_and_null_scores(es, data):
    r = es.search(index=data, sort=[{"n": "desc"}], size=5)
    assert ids(r) == ["d29", "d28", "d27", "d26", "d25"]
    assert r["hits"]["max_score"] is None
    for h in r["hits"]["hits"]:
        assert h["_score"] is None
        assert h["sort"] == [h["_source"]["n"]]
    r = es.search(index=data, sort=["color", {"n": {"order": "asc"}}], size=4)
    assert ids(r) == ["d02", "d05", "d08", "d11"]
    assert r["hits"]["hits"][0]["sort"] == ["blue", 2]


def test_sort_missing_and_unmapped(es, data):
    r = es.search(index=data, sort=[{"opt": {"order": "asc", "missing": "_last"}}, {"n": "asc"}], size=N)
    got = ids(r)
    # keyword sort of o0, o10, o12, ... then the missing ones
    with_opt = sorted((f"o{i}", f"d{i:02d}") for i in range(N) if i % 2 == 0)
    assert got[:15] == [d for _, d in with_opt]
    assert got[15:] == expect(lambda i: i % 2 == 1)
    r = es.search(index=data, sort=[{"nope": {"order": "asc", "unmapped_type": "long"}}, {"n": "asc"}], size=3)
    assert ids(r) == ["d00", "d01", "d02"]


def test_search_after_pagination(es, data):
    seen = []
    after = None
    while True:
        kw = {"sort": [{"color": "asc"}, {"id": "desc"}], "size": 7}
        if after is not None:
            kw["search_after"] = after
        r = es.search(index=data, **kw)
        hits = r["hits"]["hits"]
        if not hits:
            break
        seen.extend(h["_id"] for h in hits)
        after = hits[-1]["sort"]
        assert len(after) == 2
    expected = [f"d{i:02d}" for i in sorted(range(N), key=lambda i: (COLORS[i % 3], -i))]
    assert seen == expected


def test_search_after_length_mismatch_400(es, data):
    with raises_api(BadRequestError, 400):
        es.search(index=data, sort=[{"n": "asc"}], search_after=[1, 2])


def test_from_size(es, data):
    r = es.search(index=data, sort=[{"n": "asc"}], from_=5, size=5)
    assert ids(r) == ["d05", "d06", "d07", "d08", "d09"]
    assert r["hits"]["total"]["value"] == N
    r = es.search(index=data, sort=[{"n": "asc"}], from_=28, size=5)
    assert ids(r) == ["d28", "d29"]
    r = es.search(index=data, size=0)
    assert r["hits"]["hits"] == []
    assert r["hits"]["total"]["value"] == N
    # from/size in the query string
    r = es.perform_request(
        "POST",
        f"/{data}/_search",
        params={"from": 2, "size": 2},
        headers={"accept": "application/json", "content-type": "application/json"},
        body={"sort": [{"n": "asc"}]},
    )
    assert ids(r) == ["d02", "d03"]


def test_result_window_too_large_400(es, data):
    with raises_api(BadRequestError, 400):
        es.search(index=data, from_=9995, size=10)


def test_source_filtering(es, data):
    q = {"ids": {"values": ["d04"]}}
    r = es.search(index=data, query=q, source=False)
    assert "_source" not in r["hits"]["hits"][0]
    r = es.search(index=data, query=q, source=["id", "obj.*"])
    assert r["hits"]["hits"][0]["_source"] == {"id": "d04", "obj": {"a": 4, "b": "x"}}
    r = es.search(index=data, query=q, source={"includes": ["obj", "n"], "excludes": ["obj.b"]})
    assert r["hits"]["hits"][0]["_source"] == {"n": 4, "obj": {"a": 4}}
    r = es.search(index=data, query=q, source_includes=["color"])
    assert r["hits"]["hits"][0]["_source"] == {"color": "green"}
    r = es.search(index=data, query=q, source_excludes=["tags", "obj", "ts", "opt", "flag"])
    assert r["hits"]["hits"][0]["_source"] == {"id": "d04", "n": 4, "color": "green"}
    r = es.search(index=data, query=q, source="o*")
    assert r["hits"]["hits"][0]["_source"] == {"opt": "o4", "obj": {"a": 4, "b": "x"}}


def test_seq_no_primary_term_in_hits(es, data):
    r = es.search(index=data, query={"ids": {"values": ["d01"]}}, seq_no_primary_term=True)
    h = r["hits"]["hits"][0]
    g = es.get(index=data, id="d01")
    assert h["_seq_no"] == g["_seq_no"]
    assert h["_primary_term"] == g["_primary_term"] == 1
    r = es.search(index=data, query={"ids": {"values": ["d01"]}})
    assert "_seq_no" not in r["hits"]["hits"][0]


def test_count(es, data):
    r = es.count(index=data)
    assert r["count"] == N
    assert "_shards" in r
    assert es.count(index=data, query={"term": {"color": "red"}})["count"] == 10
    assert es.count(index=data, query={"range": {"n": {"gte": 25}}})["count"] == 5


def test_multiple_indices_and_wildcard(es, data, index_factory):
    other = index_factory("other")
    es.index(index=other, id="o1", document={"id": "o1", "n": 100}, refresh=True)
    r = es.search(index=f"{data},{other}", size=100)
    assert r["hits"]["total"]["value"] == N + 1
    assert {h["_index"] for h in r["hits"]["hits"]} == {data, other}
    r = es.count(index=f"{other[:-8]}*")
    assert r["count"] == 1


def test_track_total_hits(es, index_name):
    total = 10_050
    es.indices.create(index=index_name, mappings={"properties": {"n": {"type": "long"}}})
    ok, _ = helpers.bulk(
        es, ({"_index": index_name, "_id": str(i), "_source": {"n": i}} for i in range(total)), chunk_size=2000
    )
    assert ok == total
    es.indices.refresh(index=index_name)
    r = es.search(index=index_name, size=1)
    assert r["hits"]["total"] == {"value": 10_000, "relation": "gte"}
    r = es.search(index=index_name, size=1, track_total_hits=True)
    assert r["hits"]["total"] == {"value": total, "relation": "eq"}
    r = es.search(index=index_name, size=1, track_total_hits=False)
    assert "total" not in r["hits"]
    r = es.search(index=index_name, size=1, track_total_hits=100)
    assert r["hits"]["total"] == {"value": 100, "relation": "gte"}
    r = es.search(index=index_name, size=1, query={"range": {"n": {"lt": 50}}}, track_total_hits=100)
    assert r["hits"]["total"] == {"value": 50, "relation": "eq"}
    assert es.count(index=index_name)["count"] == total


# --- near-real-time ----------------------------------------------------------------------


def test_nrt_get_is_realtime_search_needs_refresh(es, index_name):
    # refresh_interval -1 keeps a real cluster from refreshing on its own
    es.indices.create(index=index_name, settings={"refresh_interval": "-1"})
    es.index(index=index_name, id="1", document={"a": 1})
    # GET by id is real-time
    assert es.get(index=index_name, id="1")["_source"] == {"a": 1}
    # search and count do not see it before a refresh
    assert es.search(index=index_name)["hits"]["total"]["value"] == 0
    assert es.count(index=index_name)["count"] == 0
    es.indices.refresh(index=index_name)
    assert es.search(index=index_name)["hits"]["total"]["value"] == 1
    # updates and deletes follow the same rule
    es.update(index=index_name, id="1", doc={"a": 2})
    assert es.get(index=index_name, id="1")["_source"] == {"a": 2}
    assert es.search(index=index_name, query={"term": {"a": 2}})["hits"]["total"]["value"] == 0
    es.delete(index=index_name, id="1")
    with pytest.raises(NotFoundError):
        es.get(index=index_name, id="1")
    assert es.search(index=index_name)["hits"]["total"]["value"] == 1
    es.indices.refresh(index=index_name)
    assert es.search(index=index_name)["hits"]["total"]["value"] == 0


def test_nrt_bulk_without_refresh_not_searchable(es, index_name):
    es.indices.create(index=index_name, settings={"refresh_interval": "-1"})
    es.bulk(operations=[{"index": {"_index": index_name, "_id": "1"}}, {"a": 1}])
    assert es.search(index=index_name)["hits"]["total"]["value"] == 0
    assert es.get(index=index_name, id="1")["found"] is True


@pytest.mark.parametrize("refresh", [True, "true", "wait_for"])
def test_refresh_param_makes_visible(es, index_name, refresh):
    es.indices.create(index=index_name)
    es.index(index=index_name, id="1", document={"a": 1}, refresh=refresh)
    assert es.search(index=index_name)["hits"]["total"]["value"] == 1
    es.update(index=index_name, id="1", doc={"a": 5}, refresh=refresh)
    assert es.search(index=index_name, query={"term": {"a": 5}})["hits"]["total"]["value"] == 1
    es.bulk(operations=[{"index": {"_index": index_name, "_id": "2"}}, {"a": 2}], refresh=refresh)
    assert es.search(index=index_name)["hits"]["total"]["value"] == 2
    es.delete(index=index_name, id="1", refresh=refresh)
    assert es.search(index=index_name)["hits"]["total"]["value"] == 1


def test_long_refresh_interval_respected(es, index_name):
    import time

    # index.refresh_interval=1h: the periodic refresh must not make the doc visible within 2s
    es.indices.create(index=index_name, settings={"index": {"refresh_interval": "1h"}})
    es.index(index=index_name, id="1", document={"a": 1})
    time.sleep(2)
    assert es.search(index=index_name)["hits"]["total"]["value"] == 0
    es.indices.refresh(index=index_name)
    assert es.search(index=index_name)["hits"]["total"]["value"] == 1


def test_default_refresh_interval_eventually_visible(es, index_name):
    import time

    es.indices.create(index=index_name)
    es.index(index=index_name, id="1", document={"a": 1})
    deadline = time.time() + 10
    while time.time() < deadline:
        if es.search(index=index_name)["hits"]["total"]["value"] == 1:
            return
        time.sleep(0.2)
    pytest.fail("a document indexed without refresh never became searchable (periodic refresh)")

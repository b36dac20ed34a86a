"""Scroll (and the scan helper), point-in-time search, and _delete_by_query."""

import time

import pytest
from elasticsearch import BadRequestError, NotFoundError, helpers

from support import raises_api


def _fill(es, index, n, refresh=True, start=0, mapping=True):
    if mapping and not es.indices.exists(index=index):
        es.indices.create(
            index=index,
            mappings={"properties": {"n": {"type": "long"}, "color": {"type": "keyword"}}},
        )
    ok, errors = helpers.bulk(
        es,
        (
            {"_index": index, "_id": f"doc-{i}", "_source": {"n": i, "color": ["red", "green", "blue"][i % 3]}}
            for i in range(start, start + n)
        ),
        chunk_size=1000,
    )
    assert ok == n and not errors
    if refresh:
        es.indices.refresh(index=index)


# --- scroll -----------------------------------------------------------------------------


def test_scan_helper_returns_every_doc_once(es, index_name):
    n = 3500
    _fill(es, index_name, n)
    hits = list(helpers.scan(es, index=index_name, size=500, scroll="2m"))
    got = [h["_id"] for h in hits]
    assert len(got) == n
    assert set(got) == {f"doc-{i}" for i in range(n)}
    assert all(h["_index"] == index_name for h in hits)
    assert all("_source" in h for h in hits)


def test_scan_helper_with_query_and_source(es, index_name):
    _fill(es, index_name, 1000)
    hits = list(
        helpers.scan(
            es,
            index=index_name,
            query={"query": {"term": {"color": "red"}}, "_source": ["n"]},
            size=100,
        )
    )
    assert len(hits) == 334
    assert {h["_id"] for h in hits} == {f"doc-{i}" for i in range(1000) if i % 3 == 0}
    assert all(set(h["_source"].keys()) == {"n"} for h in hits)


def test_scan_helper_preserve_order(es, index_name):
    _fill(es, index_name, 250)
    hits = list(
        helpers.scan(
            es, index=index_name, query={"sort": [{"n": "desc"}]}, preserve_order=True, size=40
        )
    )
    assert [h["_source"]["n"] for h in hits] == list(range(249, -1, -1))


def test_raw_scroll_lifecycle(es, index_name):
    _fill(es, index_name, 25)
    r = es.search(index=index_name, scroll="1m", size=10, sort=["_doc"])
    sid = r["_scroll_id"]
    assert isinstance(sid, str) and sid
    assert r["hits"]["total"] == {"value": 25, "relation": "eq"}
    assert r["_shards"]["failed"] == 0
    seen = [h["_id"] for h in r["hits"]["hits"]]
    assert len(seen) == 10
    # documents written after the scroll started are not part of it
    _fill(es, index_name, 5, start=100)
    while True:
        r = es.scroll(scroll_id=sid, scroll="1m")
        assert "_shards" in r
        sid = r.get("_scroll_id", sid)
        if not r["hits"]["hits"]:
            break
        seen.extend(h["_id"] for h in r["hits"]["hits"])
    assert sorted(seen) == sorted(f"doc-{i}" for i in range(25))
    c = es.clear_scroll(scroll_id=sid)
    assert c["succeeded"] is True
    assert c["num_freed"] >= 1
    with raises_api(NotFoundError, 404):
        es.scroll(scroll_id=sid, scroll="1m")


# --- point in time ------------------------------------------------------------------------


def test_point_in_time(es, index_name):
    _fill(es, index_name, 25)
    opened = es.open_point_in_time(index=index_name, keep_alive="1m")
    pit_id = opened["id"]
    assert isinstance(pit_id, str) and pit_id
    assert "_shards" in opened

    # a document indexed and refreshed after the PIT was opened is not visible through it
    _fill(es, index_name, 1, start=500)
    assert es.count(index=index_name)["count"] == 26

    seen = []
    after = None
    while True:
        kw = {"pit": {"id": pit_id, "keep_alive": "1m"}, "sort": [{"n": "asc"}], "size": 10}
        if after is not None:
            kw["search_after"] = after
        r = es.search(**kw)
        assert "pit_id" in r.body
        pit_id = r["pit_id"]
        hits = r["hits"]["hits"]
        if not hits:
            break
        for h in hits:
            assert h["_index"] == index_name
            # the implicit _shard_doc tiebreaker adds a trailing sort value
            assert len(h["sort"]) == 2, h["sort"]
            assert h["sort"][0] == h["_source"]["n"]
        seen.extend(h["_source"]["n"] for h in hits)
        after = hits[-1]["sort"]
    assert seen == list(range(25))

    # a PIT search must not name an index
    with raises_api(BadRequestError, 400):
        es.search(index=index_name, pit={"id": pit_id, "keep_alive": "1m"}, sort=[{"n": "asc"}])

    closed = es.close_point_in_time(id=pit_id)
    assert closed["succeeded"] is True
    assert closed["num_freed"] >= 1

    with pytest.raises(NotFoundError) as info:
        es.close_point_in_time(id=pit_id)
    assert info.value.meta.status == 404
    # same (non-envelope) shape as a successful close
    assert set(info.value.body.keys()) == {"succeeded", "num_freed"}, info.value.body
    assert info.value.body["num_freed"] == 0

    with raises_api(NotFoundError, 404):
        es.search(pit={"id": pit_id, "keep_alive": "1m"}, sort=[{"n": "asc"}])


def test_pit_on_missing_index_404(es, index_name):
    with raises_api(NotFoundError, 404, "index_not_found_exception"):
        es.open_point_in_time(index=index_name, keep_alive="1m")


# --- delete by query ----------------------------------------------------------------------

DBQ_KEYS = {
    "took",
    "timed_out",
    "total",
    "deleted",
    "batches",
    "version_conflicts",
    "noops",
    "retries",
    "throttled_millis",
    "requests_per_second",
    "throttled_until_millis",
    "failures",
}


def test_delete_by_query(es, index_name):
    _fill(es, index_name, 30)
    r = es.delete_by_query(index=index_name, query={"term": {"color": "red"}}, refresh=True)
    assert set(r.body.keys()) >= DBQ_KEYS, r.body
    assert r["total"] == 10
    assert r["deleted"] == 10
    assert r["timed_out"] is False
    assert r["batches"] >= 1
    assert r["version_conflicts"] == 0
    assert r["noops"] == 0
    assert r["retries"] == {"bulk": 0, "search": 0}
    assert r["throttled_millis"] == 0
    assert r["requests_per_second"] == -1.0
    assert r["throttled_until_millis"] == 0
    assert r["failures"] == []
    assert es.count(index=index_name)["count"] == 20
    assert es.count(index=index_name, query={"term": {"color": "red"}})["count"] == 0
    with raises_api(NotFoundError, 404):
        es.get(index=index_name, id="doc-0")


def test_delete_by_query_match_all_conflicts_proceed(es, index_name):
    _fill(es, index_name, 1200)
    r = es.delete_by_query(
        index=index_name, query={"match_all": {}}, conflicts="proceed", refresh=True
    )
    assert r["deleted"] == 1200
    assert r["total"] == 1200
    assert r["batches"] >= 2  # default scroll batch size is 1000
    assert es.count(index=index_name)["count"] == 0


def test_delete_by_query_only_sees_refreshed_docs(es, index_name):
    es.indices.create(
        index=index_name,
        settings={"refresh_interval": "-1"},
        mappings={"properties": {"n": {"type": "long"}, "color": {"type": "keyword"}}},
    )
    _fill(es, index_name, 10, refresh=True)
    _fill(es, index_name, 5, refresh=False, start=100)
    r = es.delete_by_query(index=index_name, query={"match_all": {}})
    assert r["deleted"] == 10
    es.indices.refresh(index=index_name)
    assert es.count(index=index_name)["count"] == 5


def test_delete_by_query_missing_index_404(es, index_name):
    with raises_api(NotFoundError, 404, "index_not_found_exception"):
        es.delete_by_query(index=index_name, query={"match_all": {}})
    r = es.delete_by_query(index=index_name, query={"match_all": {}}, ignore_unavailable=True)
    assert r["deleted"] == 0


def test_delete_by_query_async_returns_task(es, index_name):
    _fill(es, index_name, 5)
    r = es.delete_by_query(index=index_name, query={"match_all": {}}, wait_for_completion=False)
    assert isinstance(r["task"], str) and ":" in r["task"]
    deadline = time.time() + 10
    while time.time() < deadline:
        es.indices.refresh(index=index_name)
        if es.count(index=index_name)["count"] == 0:
            return
        time.sleep(0.2)
    pytest.fail("async delete_by_query never deleted the documents")

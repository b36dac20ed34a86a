"""es-sim fault injection (`PUT/DELETE /_sim/faults`). Skipped against a real cluster."""

import pytest
from elasticsearch import ApiError, helpers

pytestmark = pytest.mark.sim_only

JSON = {"accept": "application/json", "content-type": "application/json"}


def set_faults(es, body):
    r = es.perform_request("PUT", "/_sim/faults", headers=JSON, body=body)
    assert 200 <= r.meta.status < 300
    return r


def clear_faults(es):
    r = es.perform_request("DELETE", "/_sim/faults", headers={"accept": "application/json"})
    assert 200 <= r.meta.status < 300
    return r


@pytest.fixture
def faults(es):
    clear_faults(es)
    yield lambda body: set_faults(es, body)
    clear_faults(es)


def _actions(index, n):
    return ({"_index": index, "_id": str(i), "_source": {"n": i}} for i in range(n))


def test_reject_bulk_items_percent(es, index_name, faults):
    faults({"reject_bulk_items_percent": 30})
    n = 2000
    success, errors = helpers.bulk(es, _actions(index_name, n), raise_on_error=False, chunk_size=500)
    assert success + len(errors) == n
    ratio = len(errors) / n
    assert 0.22 <= ratio <= 0.38, f"expected ~30% rejected items, got {ratio:.1%}"
    for err in errors:
        (op, item), = err.items()
        assert op == "index"
        assert item["status"] == 429
        assert item["error"]["type"] == "es_rejected_execution_exception"
        assert item["_index"] == index_name
    # rejected items were not written
    es.indices.refresh(index=index_name)
    assert es.count(index=index_name)["count"] == success

    # raise_on_error=True surfaces the failures as BulkIndexError
    with pytest.raises(helpers.BulkIndexError):
        helpers.bulk(es, _actions(index_name, 200))


def test_raw_bulk_response_with_rejected_items(es, index_name, faults):
    faults({"reject_bulk_items_percent": 100})
    r = es.bulk(operations=[{"index": {"_index": index_name, "_id": "1"}}, {"a": 1}])
    assert r.meta.status == 200
    assert r["errors"] is True
    item = r["items"][0]["index"]
    assert item["status"] == 429
    assert item["error"]["type"] == "es_rejected_execution_exception"


def test_clear_faults_restores_normal_bulk(es, index_name, faults):
    faults({"reject_bulk_items_percent": 100})
    clear_faults(es)
    success, errors = helpers.bulk(es, _actions(index_name, 500), raise_on_error=False)
    assert (success, errors) == (500, [])


def test_reject_bulk_requests_without_retry_raises(es, index_name, faults, new_client):
    faults({"reject_bulk_requests": {"count": 2, "status": 429}})
    client = new_client(max_retries=0)
    with pytest.raises(ApiError) as info:
        client.bulk(operations=[{"index": {"_index": index_name, "_id": "1"}}, {"a": 1}])
    assert info.value.meta.status == 429
    assert info.value.error == "es_rejected_execution_exception"
    # one rejection left, then bulks go through again
    with pytest.raises(ApiError):
        client.bulk(operations=[{"index": {"_index": index_name, "_id": "1"}}, {"a": 1}])
    r = client.bulk(operations=[{"index": {"_index": index_name, "_id": "1"}}, {"a": 1}])
    assert r["errors"] is False


def test_reject_bulk_requests_client_retry_succeeds(es, index_name, faults, new_client):
    faults({"reject_bulk_requests": {"count": 2, "status": 429}})
    client = new_client(retry_on_status=[429], max_retries=3)
    success, errors = helpers.bulk(client, _actions(index_name, 100))
    assert (success, errors) == (100, [])
    es.indices.refresh(index=index_name)
    assert es.count(index=index_name)["count"] == 100


def test_reject_bulk_requests_only_affects_bulk(es, index_name, faults, new_client):
    faults({"reject_bulk_requests": {"count": 1, "status": 429}})
    client = new_client(max_retries=0)
    # single-document writes and searches are not rejected
    client.index(index=index_name, id="x", document={"a": 1}, refresh=True)
    assert client.search(index=index_name)["hits"]["total"]["value"] == 1
    with pytest.raises(ApiError):
        client.bulk(operations=[{"index": {"_index": index_name, "_id": "1"}}, {"a": 1}])

"""Connector sync job APIs (`_connector/_sync_job`)."""

import time
import uuid

import pytest
from elasticsearch import BadRequestError, ConflictError, NotFoundError

from support import CONFIG, CONNECTORS_ORIGIN, assert_recent, error_reason, parse_ts, raises_api, rule

COUNTS = ("total_document_count", "indexed_document_count", "indexed_document_volume", "deleted_document_count")


def uid():
    return uuid.uuid4().hex[:10]


@pytest.fixture
def connector(connector_factory):
    cid, idx = connector_factory(name="sync-conn", language="de")
    return cid, idx


@pytest.fixture
def job(es, connector):
    cid, _ = connector
    return es.connector.sync_job_post(id=cid)["id"]


def _claim(es, jid, host="worker-1", **kw):
    return es.connector.sync_job_claim(connector_sync_job_id=jid, worker_hostname=host, **kw)


# --- create / get -------------------------------------------------------------------------


def test_post_defaults(es, connector):
    cid, idx = connector
    r = es.connector.sync_job_post(id=cid)
    assert r.meta.status == 200
    assert set(r.body.keys()) == {"id"}
    jid = r["id"]
    j = es.connector.sync_job_get(connector_sync_job_id=jid).body
    assert j["id"] == jid
    assert j["job_type"] == "full"
    assert j["trigger_method"] == "on_demand"
    assert j["status"] == "pending"
    for k in COUNTS:
        assert j[k] == 0, k
    assert_recent(j["created_at"])
    assert_recent(j["last_seen"])
    conn = j["connector"]
    assert conn["id"] == cid
    assert conn["index_name"] == idx
    assert conn["service_type"] == "super-connector"
    assert conn["language"] == "de"
    for k in ("started_at", "completed_at", "canceled_at", "cancelation_requested_at", "worker_hostname", "error"):
        assert not j.get(k), k


def test_post_snapshots_connector(es, connector):
    cid, idx = connector
    pipe = {"name": "test-pipeline", "extract_binary_content": True, "reduce_whitespace": True, "run_ml_inference": False}
    es.connector.update_pipeline(connector_id=cid, pipeline=pipe)
    es.connector.update_configuration(connector_id=cid, configuration=CONFIG)
    es.connector.update_configuration(connector_id=cid, values={"host": "example.org"})
    es.connector.update_filtering(
        connector_id=cid, rules=[rule("r1", 0, field="a", rule_="equals", value="b"), rule("DEFAULT", 1)], advanced_snippet={"value": {"x": 1}}
    )
    es.connector.update_filtering_validation(connector_id=cid, validation={"state": "valid", "errors": []})
    es.connector.update_active_filtering(connector_id=cid)
    c = es.connector.get(connector_id=cid).body

    jid = es.connector.sync_job_post(id=cid, job_type="incremental", trigger_method="scheduled")["id"]
    j = es.connector.sync_job_get(connector_sync_job_id=jid)
    assert j["job_type"] == "incremental"
    assert j["trigger_method"] == "scheduled"
    conn = j["connector"]
    assert conn["id"] == cid
    assert conn["pipeline"] == pipe
    assert conn["configuration"] == c["configuration"]
    assert conn["configuration"]["host"]["value"] == "example.org"
    # filtering is the connector's active filtering, as one object
    assert isinstance(conn["filtering"], dict)
    assert conn["filtering"] == c["filtering"][0]["active"]
    assert conn["filtering"]["rules"][0]["id"] == "r1"

    # the snapshot does not follow later connector changes
    es.connector.update_configuration(connector_id=cid, values={"host": "changed"})
    j = es.connector.sync_job_get(connector_sync_job_id=jid)
    assert j["connector"]["configuration"]["host"]["value"] == "example.org"


def test_post_access_control_index_name(es, connector):
    cid, idx = connector
    jid = es.connector.sync_job_post(id=cid, job_type="access_control")["id"]
    j = es.connector.sync_job_get(connector_sync_job_id=jid)
    assert j["job_type"] == "access_control"
    assert j["connector"]["index_name"] == f".search-acl-filter-{idx}"


def test_post_unknown_connector_404(es):
    with raises_api(NotFoundError, 404):
        es.connector.sync_job_post(id=f"c-missing-{uid()}")


@pytest.mark.parametrize("field,value", [("job_type", "invalid_job_type"), ("trigger_method", "invalid_trigger_method")])
def test_post_bad_enum_400(es, connector, field, value):
    cid, _ = connector
    with raises_api(BadRequestError, 400):
        es.connector.sync_job_post(body={"id": cid, field: value})


def test_post_connector_without_index_400(es, connector_factory):
    cid, _ = connector_factory(index_name=None)
    with raises_api(BadRequestError, 400):
        es.connector.sync_job_post(id=cid)


def test_post_connector_without_service_type_400(es, connector_factory):
    cid, _ = connector_factory(service_type=None)
    with raises_api(BadRequestError, 400):
        es.connector.sync_job_post(id=cid)


def test_get_missing_404(es):
    jid = f"job-missing-{uid()}"
    with raises_api(NotFoundError, 404, "resource_not_found_exception") as info:
        es.connector.sync_job_get(connector_sync_job_id=jid)
    assert info.value.body["error"]["reason"] == f"connector sync job [{jid}] not found"


# --- list ---------------------------------------------------------------------------------


def test_list_created_at_desc_and_filters(es, connector, connector_factory):
    cid, _ = connector
    other, _ = connector_factory()
    jobs = []
    for jt in ("full", "incremental", "access_control"):
        jobs.append(es.connector.sync_job_post(id=cid, job_type=jt)["id"])
        time.sleep(0.05)
    es.connector.sync_job_post(id=other)

    r = es.connector.sync_job_list(connector_id=cid)
    assert r["count"] == 3
    assert [x["id"] for x in r["results"]] == list(reversed(jobs))
    created = [parse_ts(x["created_at"]) for x in r["results"]]
    assert created == sorted(created, reverse=True)
    assert all(x["connector"]["id"] == cid for x in r["results"])

    r = es.connector.sync_job_list(connector_id=cid, size=1)
    assert r["count"] == 3 and [x["id"] for x in r["results"]] == [jobs[2]]
    r = es.connector.sync_job_list(connector_id=cid, from_=1, size=1)
    assert [x["id"] for x in r["results"]] == [jobs[1]]

    r = es.connector.sync_job_list(connector_id=cid, job_type=["full", "incremental"])
    assert r["count"] == 2
    assert [x["id"] for x in r["results"]] == [jobs[1], jobs[0]]

    _claim(es, jobs[0])
    r = es.connector.sync_job_list(connector_id=cid, status="in_progress")
    assert [x["id"] for x in r["results"]] == [jobs[0]]
    r = es.connector.sync_job_list(connector_id=cid, status="pending")
    assert r["count"] == 2


def test_list_invalid_status_400(es):
    with raises_api(BadRequestError, 400):
        es.connector.sync_job_list(status="bogus")


# --- claim --------------------------------------------------------------------------------


def test_claim(es, connector, job):
    cid, _ = connector
    r = _claim(es, job, host="host-name")
    assert r.body == {"result": "updated"}
    j = es.connector.sync_job_get(connector_sync_job_id=job)
    assert j["status"] == "in_progress"
    assert j["worker_hostname"] == "host-name"
    assert_recent(j["started_at"])
    assert_recent(j["last_seen"])
    assert not j["connector"].get("sync_cursor")
    assert es.connector.get(connector_id=cid).body.get("sync_cursor") is None


def test_claim_with_sync_cursor(es, connector, job):
    cid, _ = connector
    _claim(es, job, sync_cursor={"cursor": "cursor"})
    j = es.connector.sync_job_get(connector_sync_job_id=job)
    assert j["connector"]["sync_cursor"] == {"cursor": "cursor"}
    assert es.connector.get(connector_id=cid).body.get("sync_cursor") is None


def test_claim_missing_hostname_400(es, job):
    with raises_api(BadRequestError, 400):
        es.connector.sync_job_claim(connector_sync_job_id=job, body={"sync_cursor": {"cursor": "c"}})
    with raises_api(BadRequestError, 400):
        es.connector.sync_job_claim(connector_sync_job_id=job, body={"worker_hostname": None})
    assert es.connector.sync_job_get(connector_sync_job_id=job)["status"] == "pending"


def test_claim_missing_job_404(es):
    with raises_api(NotFoundError, 404):
        _claim(es, f"job-missing-{uid()}")


# --- stats --------------------------------------------------------------------------------


def test_update_stats(es, job):
    r = es.connector.sync_job_update_stats(
        connector_sync_job_id=job, deleted_document_count=10, indexed_document_count=20, indexed_document_volume=1000
    )
    assert r.body == {"result": "updated"}
    j = es.connector.sync_job_get(connector_sync_job_id=job)
    assert (j["deleted_document_count"], j["indexed_document_count"], j["indexed_document_volume"]) == (10, 20, 1000)
    assert j["total_document_count"] == 0

    es.connector.sync_job_update_stats(
        connector_sync_job_id=job,
        deleted_document_count=1,
        indexed_document_count=2,
        indexed_document_volume=3,
        total_document_count=20,
        metadata={"someKey1": "test", "someKey2": "test2"},
        last_seen="2023-12-04T08:45:50.567149Z",
    )
    j = es.connector.sync_job_get(connector_sync_job_id=job)
    assert j["total_document_count"] == 20
    assert j["metadata"] == {"someKey1": "test", "someKey2": "test2"}
    assert j["last_seen"] == "2023-12-04T08:45:50.567149Z"

    # without last_seen the server sets it to now
    es.connector.sync_job_update_stats(
        connector_sync_job_id=job, deleted_document_count=1, indexed_document_count=2, indexed_document_volume=3
    )
    assert_recent(es.connector.sync_job_get(connector_sync_job_id=job)["last_seen"])


@pytest.mark.parametrize(
    "body",
    [
        {"deleted_document_count": -10, "indexed_document_count": 20, "indexed_document_volume": 1000},
        {"deleted_document_count": 10, "indexed_document_count": -20, "indexed_document_volume": 1000},
        {"deleted_document_count": 10, "indexed_document_count": 20, "indexed_document_volume": -1000},
        {"deleted_document_count": 10, "indexed_document_count": 20, "indexed_document_volume": 1000, "total_document_count": -10},
        {"deleted_document_count": 10, "indexed_document_count": 20, "indexed_document_volume": 1000, "metadata": "abc"},
        {"deleted_document_count": 10, "indexed_document_count": 20, "indexed_document_volume": 1000, "metadata": 123},
        {"indexed_document_count": 20, "indexed_document_volume": 1000},
    ],
    ids=["neg-deleted", "neg-indexed", "neg-volume", "neg-total", "metadata-str", "metadata-num", "missing-required"],
)
def test_update_stats_invalid_400(es, job, body):
    with raises_api(BadRequestError, 400):
        es.connector.sync_job_update_stats(connector_sync_job_id=job, body=body)
    j = es.connector.sync_job_get(connector_sync_job_id=job)
    assert j["indexed_document_count"] == 0


def test_update_stats_missing_job_404(es):
    with raises_api(NotFoundError, 404):
        es.connector.sync_job_update_stats(
            connector_sync_job_id=f"job-missing-{uid()}",
            deleted_document_count=1,
            indexed_document_count=1,
            indexed_document_volume=1,
        )


# --- cancel -------------------------------------------------------------------------------


def test_cancel_pending_goes_to_canceled(es, job):
    r = es.connector.sync_job_cancel(connector_sync_job_id=job)
    assert r.body == {"result": "updated"}
    j = es.connector.sync_job_get(connector_sync_job_id=job)
    assert j["status"] == "canceled"
    assert j["cancelation_requested_at"]
    assert j["canceled_at"] == j["cancelation_requested_at"]
    assert j["completed_at"] == j["cancelation_requested_at"]
    assert_recent(j["canceled_at"])
    with raises_api(BadRequestError, 400):
        es.connector.sync_job_cancel(connector_sync_job_id=job)


def test_cancel_in_progress_goes_to_canceling(es, job):
    _claim(es, job)
    r = es.connector.sync_job_cancel(connector_sync_job_id=job)
    assert r.body == {"result": "updated"}
    j = es.connector.sync_job_get(connector_sync_job_id=job)
    assert j["status"] == "canceling"
    assert_recent(j["cancelation_requested_at"])
    assert not j.get("canceled_at")
    assert not j.get("completed_at")
    with raises_api(BadRequestError, 400):
        es.connector.sync_job_cancel(connector_sync_job_id=job)


def test_cancel_missing_404(es):
    with raises_api(NotFoundError, 404):
        es.connector.sync_job_cancel(connector_sync_job_id=f"job-missing-{uid()}")


# --- error --------------------------------------------------------------------------------


def test_error_from_pending_400(es, job):
    with raises_api(BadRequestError, 400, "status_exception") as info:
        es.connector.sync_job_error(connector_sync_job_id=job, error="boom")
    assert error_reason(info.value) == (
        "Invalid transition attempt from [pending] to [error]. "
        "Such a ConnectorSyncStatus transition is not supported by the Connector Protocol."
    )
    assert es.connector.sync_job_get(connector_sync_job_id=job)["status"] == "pending"


def test_error_from_in_progress(es, job):
    _claim(es, job)
    r = es.connector.sync_job_error(connector_sync_job_id=job, error="it broke")
    assert r.body == {"result": "updated"}
    j = es.connector.sync_job_get(connector_sync_job_id=job)
    assert j["status"] == "error"
    assert j["error"] == "it broke"
    # error is terminal
    with raises_api(BadRequestError, 400):
        es.connector.sync_job_cancel(connector_sync_job_id=job)


def test_error_from_canceling(es, job):
    _claim(es, job)
    es.connector.sync_job_cancel(connector_sync_job_id=job)
    es.connector.sync_job_error(connector_sync_job_id=job, error="late failure")
    assert es.connector.sync_job_get(connector_sync_job_id=job)["status"] == "error"


def test_error_missing_404(es):
    with raises_api(NotFoundError, 404):
        es.connector.sync_job_error(connector_sync_job_id=f"job-missing-{uid()}", error="x")


# --- check-in / delete --------------------------------------------------------------------


def test_check_in(es, job):
    es.connector.sync_job_update_stats(
        connector_sync_job_id=job,
        deleted_document_count=0,
        indexed_document_count=0,
        indexed_document_volume=0,
        last_seen="2020-01-01T00:00:00Z",
    )
    r = es.connector.sync_job_check_in(connector_sync_job_id=job)
    assert r.body == {"result": "updated"}
    assert_recent(es.connector.sync_job_get(connector_sync_job_id=job)["last_seen"])


def test_check_in_missing_404(es):
    with raises_api(NotFoundError, 404):
        es.connector.sync_job_check_in(connector_sync_job_id=f"job-missing-{uid()}")


def test_delete(es, job):
    r = es.connector.sync_job_delete(connector_sync_job_id=job)
    assert r.body == {"acknowledged": True}
    with raises_api(NotFoundError, 404):
        es.connector.sync_job_get(connector_sync_job_id=job)
    with raises_api(NotFoundError, 404):
        es.connector.sync_job_delete(connector_sync_job_id=job)


# --- direct access to the sync job index ---------------------------------------------------


def test_direct_read_of_sync_jobs_alias(es, connector, job):
    cid, _ = connector
    api = es.connector.sync_job_get(connector_sync_job_id=job).body
    direct = es.options(headers=CONNECTORS_ORIGIN)
    assert direct.indices.exists(index=".elastic-connectors-sync-jobs-v1").body is True
    g = direct.get(index=".elastic-connectors-sync-jobs", id=job)
    assert g["_index"] == ".elastic-connectors-sync-jobs-v1"
    assert "id" not in g["_source"]
    expected = dict(api)
    expected.pop("id")
    assert g["_source"] == expected

    # what the Python service runs to find pending work
    r = direct.search(
        index=".elastic-connectors-sync-jobs",
        query={
            "bool": {
                "filter": [
                    {"terms": {"status": ["pending", "suspended"]}},
                    {"terms": {"connector.id": [cid]}},
                    {"terms": {"job_type": ["full", "incremental"]}},
                ]
            }
        },
        sort=[{"created_at": "asc"}],
        seq_no_primary_term=True,
        expand_wildcards="hidden",
        size=100,
    )
    hits = r["hits"]["hits"]
    assert [h["_id"] for h in hits] == [job]
    assert hits[0]["_index"] == ".elastic-connectors-sync-jobs-v1"
    assert hits[0]["_source"] == expected

    # stuck-job query
    r = direct.search(
        index=".elastic-connectors-sync-jobs",
        query={"bool": {"filter": [{"term": {"connector.id": cid}}, {"range": {"last_seen": {"lte": "now-300s"}}}]}},
    )
    assert r["hits"]["total"]["value"] == 0
    # ... and once the job has not been seen for a while it is found
    es.connector.sync_job_update_stats(
        connector_sync_job_id=job,
        deleted_document_count=0,
        indexed_document_count=0,
        indexed_document_volume=0,
        last_seen="2020-01-01T00:00:00.000Z",
    )
    r = direct.search(
        index=".elastic-connectors-sync-jobs",
        query={"bool": {"filter": [{"term": {"connector.id": cid}}, {"range": {"last_seen": {"lte": "now-300s"}}}]}},
    )
    assert [h["_id"] for h in r["hits"]["hits"]] == [job]


def test_direct_update_finishes_job(es, job):
    _claim(es, job)
    direct = es.options(headers=CONNECTORS_ORIGIN)
    g = direct.get(index=".elastic-connectors-sync-jobs", id=job)
    now = "2030-01-01T00:00:00.123Z"
    u = direct.update(
        index=".elastic-connectors-sync-jobs",
        id=job,
        doc={"status": "completed", "completed_at": now, "indexed_document_count": 42, "error": None},
        if_seq_no=g["_seq_no"],
        if_primary_term=g["_primary_term"],
    )
    assert u["_index"] == ".elastic-connectors-sync-jobs-v1"
    j = es.connector.sync_job_get(connector_sync_job_id=job)
    assert j["status"] == "completed"
    assert j["completed_at"] == now
    assert j["indexed_document_count"] == 42
    # completed is terminal for the API state machine
    with raises_api(BadRequestError, 400):
        es.connector.sync_job_cancel(connector_sync_job_id=job)
    # stale optimistic-concurrency write
    with raises_api(ConflictError, 409, "version_conflict_engine_exception"):
        direct.update(
            index=".elastic-connectors-sync-jobs",
            id=job,
            doc={"status": "error"},
            if_seq_no=g["_seq_no"],
            if_primary_term=g["_primary_term"],
        )


def test_suspended_job_can_be_reclaimed_or_canceled(es, connector):
    cid, _ = connector
    direct = es.options(headers=CONNECTORS_ORIGIN)
    j1 = es.connector.sync_job_post(id=cid)["id"]
    _claim(es, j1)
    direct.update(index=".elastic-connectors-sync-jobs", id=j1, doc={"status": "suspended"}, refresh=True)
    _claim(es, j1, host="worker-2")
    j = es.connector.sync_job_get(connector_sync_job_id=j1)
    assert j["status"] == "in_progress" and j["worker_hostname"] == "worker-2"

    j2 = es.connector.sync_job_post(id=cid)["id"]
    _claim(es, j2)
    direct.update(index=".elastic-connectors-sync-jobs", id=j2, doc={"status": "suspended"}, refresh=True)
    es.connector.sync_job_cancel(connector_sync_job_id=j2)
    assert es.connector.sync_job_get(connector_sync_job_id=j2)["status"] == "canceled"


def test_claim_does_not_check_status(es, job):
    # documented quirk: _claim does not look at the current status
    _claim(es, job, host="first")
    r = _claim(es, job, host="second")
    assert r.body == {"result": "updated"}
    j = es.connector.sync_job_get(connector_sync_job_id=job)
    assert j["status"] == "in_progress" and j["worker_hostname"] == "second"


def test_stats_do_not_check_status(es, job):
    es.connector.sync_job_cancel(connector_sync_job_id=job)
    r = es.connector.sync_job_update_stats(
        connector_sync_job_id=job, deleted_document_count=1, indexed_document_count=2, indexed_document_volume=3
    )
    assert r.body == {"result": "updated"}
    assert es.connector.sync_job_get(connector_sync_job_id=job)["indexed_document_count"] == 2


def test_api_writes_are_immediately_searchable(es, connector):
    # connector APIs write with refresh=immediate
    cid, _ = connector
    direct = es.options(headers=CONNECTORS_ORIGIN)
    jid = es.connector.sync_job_post(id=cid)["id"]
    r = direct.search(index=".elastic-connectors-sync-jobs", query={"term": {"connector.id": cid}})
    assert [h["_id"] for h in r["hits"]["hits"]] == [jid]
    _claim(es, jid)
    r = direct.search(
        index=".elastic-connectors-sync-jobs",
        query={"bool": {"filter": [{"term": {"connector.id": cid}}, {"term": {"status": "in_progress"}}]}},
    )
    assert [h["_id"] for h in r["hits"]["hits"]] == [jid]
    es.connector.check_in(connector_id=cid)
    r = direct.search(
        index=".elastic-connectors",
        query={"bool": {"filter": [{"ids": {"values": [cid]}}, {"exists": {"field": "last_seen"}}]}},
    )
    assert r["hits"]["total"]["value"] == 1

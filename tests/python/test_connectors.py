"""Connector APIs (`_connector`) through the client's `connector` namespace."""

import time
import uuid

import pytest
from elasticsearch import BadRequestError, NotFoundError

from support import raw, CONFIG, CONNECTORS_ORIGIN, T0, assert_recent, error_reason, parse_ts, raises_api, rule

DEFAULT_INTERVAL = "0 0 0 * * ?"

def uid():
    return uuid.uuid4().hex[:10]


# --- create / get -------------------------------------------------------------------------


def test_put_default_document(es, connector_factory):
    cid = f"c-default-{uid()}"
    idx = f"search-{uid()}"
    r = es.connector.put(connector_id=cid, index_name=idx)
    connector_factory.created.append(cid)
    assert r.meta.status == 200
    assert r.body == {"result": "created", "id": cid}

    c = es.connector.get(connector_id=cid).body
    assert c["id"] == cid
    assert c["index_name"] == idx
    assert c["is_native"] is False
    assert c["name"] == ""
    assert c["status"] == "created"
    assert c["sync_now"] is False
    assert c["deleted"] is False
    assert c["configuration"] == {}
    assert c["custom_scheduling"] == {}
    assert c["scheduling"] == {
        k: {"enabled": False, "interval": DEFAULT_INTERVAL}
        for k in ("access_control", "full", "incremental")
    }
    for k in ("api_key_id", "api_key_secret_id", "description", "error", "features", "last_seen", "sync_cursor"):
        assert not c.get(k), (k, c.get(k))

    filtering = c["filtering"]
    assert isinstance(filtering, list) and len(filtering) == 1
    f = filtering[0]
    assert f["domain"] == "DEFAULT"
    for state in ("active", "draft"):
        s = f[state]
        assert s["validation"] == {"errors": [], "state": "valid"}
        assert s["advanced_snippet"]["value"] == {}
        t = s["advanced_snippet"]["created_at"]
        assert s["advanced_snippet"]["updated_at"] == t
        assert_recent(t)
        assert len(s["rules"]) == 1
        r0 = dict(s["rules"][0])
        assert r0.pop("created_at") == t
        assert r0.pop("updated_at") == t
        assert r0 == {"field": "_", "id": "DEFAULT", "order": 0, "policy": "include", "rule": "regex", "value": ".*"}


def test_put_full_body(es, connector_factory):
    cid, idx = connector_factory(name="my-connector", language="pl", is_native=False, service_type="super-connector", description="desc")
    c = es.connector.get(connector_id=cid)
    assert c["name"] == "my-connector"
    assert c["language"] == "pl"
    assert c["service_type"] == "super-connector"
    assert c["description"] == "desc"
    assert c["index_name"] == idx


def test_put_native_needs_configuration(es, connector_factory):
    cid, _ = connector_factory(is_native=True, index_name=f"content-search-{uid()}")
    c = es.connector.get(connector_id=cid)
    assert c["is_native"] is True
    assert c["status"] == "needs_configuration"


def test_put_without_index(es, connector_factory):
    cid, _ = connector_factory(index_name=None, service_type="super-connector")
    c = es.connector.get(connector_id=cid)
    assert c.get("index_name") is None
    assert c["service_type"] == "super-connector"


def test_put_without_body(es, connector_factory):
    cid = f"c-nobody-{uid()}"
    r = es.perform_request("PUT", f"/_connector/{cid}", headers={"accept": "application/json"})
    connector_factory.created.append(cid)
    assert r.body == {"result": "created", "id": cid}
    assert es.connector.get(connector_id=cid)["id"] == cid


def test_put_existing_id_replaces_with_defaults(es, connector_factory):
    cid, idx = connector_factory(name="first")
    es.connector.update_scheduling(connector_id=cid, scheduling={"full": {"enabled": True, "interval": "1 0 0 * * ?"}})
    r = es.connector.put(connector_id=cid, index_name=idx, name="second")
    assert r.body == {"result": "updated", "id": cid}
    c = es.connector.get(connector_id=cid)
    assert c["name"] == "second"
    assert c["scheduling"]["full"] == {"enabled": False, "interval": DEFAULT_INTERVAL}
    assert c["status"] == "created"


def test_post_generates_id(es, connector_factory):
    idx = f"search-{uid()}"
    r = es.connector.post(index_name=idx, service_type="super-connector")
    cid = r["id"]
    connector_factory.created.append(cid)
    assert r["result"] == "created"
    assert isinstance(cid, str) and cid
    c = es.connector.get(connector_id=cid)
    assert c["id"] == cid and c["index_name"] == idx


def test_put_invalid_index_name_400(es, connector_factory):
    with raises_api(BadRequestError, 400):
        es.connector.put(connector_id=f"c-bad-{uid()}", index_name="_this-is-invalid-index-name")


def test_put_index_name_in_use_400(es, connector_factory):
    cid, idx = connector_factory()
    other = f"c-other-{uid()}"
    with raises_api(BadRequestError, 400) as info:
        es.connector.put(connector_id=other, index_name=idx)
    assert f"Index name [{idx}] is used by another connector" in error_reason(info.value)
    # the same connector may be re-put with its own index name
    r = es.connector.put(connector_id=cid, index_name=idx)
    assert r["result"] == "updated"


def test_index_name_free_again_after_soft_delete(es, connector_factory):
    cid, idx = connector_factory()
    es.connector.delete(connector_id=cid)
    cid2, _ = connector_factory(index_name=idx)
    assert es.connector.get(connector_id=cid2)["index_name"] == idx


def test_get_missing_404(es):
    cid = f"c-missing-{uid()}"
    with raises_api(NotFoundError, 404, "resource_not_found_exception") as info:
        es.connector.get(connector_id=cid)
    assert info.value.body["error"]["reason"] == f"connector [{cid}] not found"
    assert info.value.body["status"] == 404


# --- list ---------------------------------------------------------------------------------


@pytest.fixture
def three(es, connector_factory):
    u = uid()
    a, ia = connector_factory(index_name=f"search-{u}-1", name=f"name-{u}-1", service_type=f"svc-{u}-a", language="pl")
    c, ic = connector_factory(index_name=f"search-{u}-3", name=f"name-{u}-3", service_type=f"svc-{u}-a", language="nl")
    b, ib = connector_factory(index_name=f"content-{u}-2", name=f"name-{u}-2", service_type=f"svc-{u}-b", language="en", is_native=True)
    return {"u": u, "ids": (a, b, c), "idx": (ia, ib, ic)}


def test_list_sorted_by_index_name(es, three):
    a, b, c = three["ids"]
    ia, ib, ic = three["idx"]
    r = es.connector.list(index_name=[ia, ib, ic])
    assert r["count"] == 3
    assert [x["id"] for x in r["results"]] == [b, a, c]
    assert [x["index_name"] for x in r["results"]] == [ib, ia, ic]
    assert r["results"][0]["language"] == "en"
    # each result carries its id and the stored document
    assert r["results"][1] == es.connector.get(connector_id=a).body


def test_list_paging(es, three):
    a, b, c = three["ids"]
    names = list(three["idx"])
    r = es.connector.list(index_name=names, from_=1)
    assert r["count"] == 3
    assert [x["id"] for x in r["results"]] == [a, c]
    r = es.connector.list(index_name=names, size=2)
    assert r["count"] == 3
    assert [x["id"] for x in r["results"]] == [b, a]


def test_list_filters(es, three):
    u = three["u"]
    a, b, c = three["ids"]
    ia, ib, ic = three["idx"]
    r = es.connector.list(index_name=ia)
    assert r["count"] == 1 and r["results"][0]["id"] == a
    r = es.connector.list(connector_name=[f"name-{u}-1", f"name-{u}-2"])
    assert r["count"] == 2
    assert [x["name"] for x in r["results"]] == [f"name-{u}-2", f"name-{u}-1"]
    r = es.connector.list(connector_name=[f"name-{u}-1", f"name-{u}-2"], index_name=ib)
    assert r["count"] == 1 and r["results"][0]["id"] == b
    r = es.connector.list(service_type=f"svc-{u}-a")
    assert [x["id"] for x in r["results"]] == [a, c]
    r = es.connector.list(service_type=[f"svc-{u}-a", f"svc-{u}-b"])
    assert r["count"] == 3
    r = es.connector.list(query=f"name-{u}-1")
    assert r["count"] == 1 and r["results"][0]["id"] == a
    r = es.connector.list(query=u)
    assert r["count"] == 3
    r = es.connector.list(query=f"{u}-3")
    assert r["count"] == 1 and r["results"][0]["id"] == c
    es.connector.update_name(connector_id=b, name=f"name-{u}-2", description=f"about {u} zebra")
    r = es.connector.list(query="zebra", index_name=list(three["idx"]))
    assert [x["id"] for x in r["results"]] == [b]


def test_list_illegal_index_name_400(es):
    with raises_api(BadRequestError, 400):
        es.connector.list(index_name="~.!$$#index-name$$$")


def test_list_soft_deleted(es, three):
    a, b, c = three["ids"]
    names = list(three["idx"])
    es.connector.delete(connector_id=a)
    r = es.connector.list(index_name=names)
    assert r["count"] == 2
    assert [x["id"] for x in r["results"]] == [b, c]
    r = es.connector.list(index_name=names, include_deleted=True)
    assert r["count"] == 3
    assert [x["id"] for x in r["results"]] == [b, a, c]
    assert r["results"][1]["deleted"] is True
    assert r["results"][0]["deleted"] is False


# --- check-in / status / error ------------------------------------------------------------


def test_check_in(es, connector_factory):
    cid, _ = connector_factory()
    assert not es.connector.get(connector_id=cid).body.get("last_seen")
    r = es.connector.check_in(connector_id=cid)
    assert r.body == {"result": "updated"}
    first = es.connector.get(connector_id=cid)["last_seen"]
    assert_recent(first)
    time.sleep(0.05)
    es.connector.check_in(connector_id=cid)
    second = es.connector.get(connector_id=cid)["last_seen"]
    assert parse_ts(second) > parse_ts(first)


def test_check_in_missing_404(es):
    with raises_api(NotFoundError, 404):
        es.connector.check_in(connector_id=f"c-missing-{uid()}")


def test_update_status_illegal_transition_400(es, connector_factory):
    cid, _ = connector_factory()
    with raises_api(BadRequestError, 400, "status_exception") as info:
        es.connector.update_status(connector_id=cid, status="connected")
    assert info.value.body["error"]["reason"] == (
        "Invalid transition attempt from [created] to [connected]. "
        "Such a ConnectorStatus transition is not supported by the Connector Protocol."
    )
    assert es.connector.get(connector_id=cid)["status"] == "created"
    with raises_api(BadRequestError, 400, "status_exception"):
        es.connector.update_status(connector_id=cid, status="configured")


def test_update_status_legal_path(es, connector_factory):
    cid, _ = connector_factory()
    path = ["needs_configuration", "configured", "configured", "connected", "connected", "error", "configured", "needs_configuration", "error", "connected"]
    current = "created"
    for status in path:
        r = es.connector.update_status(connector_id=cid, status=status)
        # ES answers with the UpdateResponse result: an unchanged doc is a "noop" (detect_noop)
        assert r.body == {"result": "noop" if status == current else "updated"}, status
        current = status
        assert es.connector.get(connector_id=cid)["status"] == status
    # connected -> needs_configuration is not allowed
    with raises_api(BadRequestError, 400, "status_exception"):
        es.connector.update_status(connector_id=cid, status="needs_configuration")


def test_update_status_unknown_value_400(es, connector_factory):
    cid, _ = connector_factory()
    with raises_api(BadRequestError, 400):
        es.connector.update_status(connector_id=cid, status="bogus")


def test_update_error(es, connector_factory):
    cid, _ = connector_factory()
    r = es.connector.update_error(connector_id=cid, error="some error")
    assert r.body == {"result": "updated"}
    c = es.connector.get(connector_id=cid)
    assert c["error"] == "some error"
    assert c["status"] == "error"
    r = es.connector.update_error(connector_id=cid, body={"error": None})
    assert r.body == {"result": "updated"}
    c = es.connector.get(connector_id=cid)
    assert c.get("error") is None
    assert c["status"] == "connected"


def test_update_error_empty_string_clears(es, connector_factory):
    cid, _ = connector_factory()
    es.connector.update_error(connector_id=cid, error="x")
    es.connector.update_error(connector_id=cid, error="")
    c = es.connector.get(connector_id=cid)
    assert c["status"] == "connected"
    assert not c.get("error")


def test_empty_connector_id_400(es):
    status, _, body = raw(
        es,
        "PUT",
        "/_connector//_error",
        body=b'{"error":"some error"}',
        headers={"content-type": "application/json", "accept": "application/json"},
    )
    assert status == 400, body


def test_update_error_ignores_state_machine(es, connector_factory):
    cid, _ = connector_factory()
    es.connector.update_status(connector_id=cid, status="needs_configuration")
    # needs_configuration -> connected is not a legal _status transition, but _error does not check
    es.connector.update_error(connector_id=cid, body={"error": None})
    assert es.connector.get(connector_id=cid)["status"] == "connected"


def test_update_error_non_string_400(es, connector_factory):
    cid, _ = connector_factory()
    with raises_api(BadRequestError, 400):
        es.connector.update_error(connector_id=cid, body={"error": {"field_1": "test"}})


def test_update_error_missing_connector_404(es):
    with raises_api(NotFoundError, 404):
        es.connector.update_error(connector_id=f"c-missing-{uid()}", error="x")


# --- configuration ------------------------------------------------------------------------


def test_update_configuration_schema_then_values(es, connector_factory):
    cid, _ = connector_factory()
    r = es.connector.update_configuration(connector_id=cid, configuration=CONFIG)
    assert r.body == {"result": "updated"}
    c = es.connector.get(connector_id=cid)
    # created -> configured is not a legal _status transition: _configuration does not check
    assert c["status"] == "configured"
    conf = c["configuration"]
    assert set(conf.keys()) == {"host", "port"}
    for key in ("host", "port"):
        for field in ("display", "label", "order", "required", "sensitive", "type", "value", "validations", "depends_on", "ui_restrictions", "options", "tooltip"):
            assert conf[key][field] == CONFIG[key][field], (key, field)
    assert conf["port"]["default_value"] == 443

    r = es.connector.update_configuration(connector_id=cid, values={"host": "example.com", "port": 8443})
    assert r.body == {"result": "updated"}
    conf2 = es.connector.get(connector_id=cid)["configuration"]
    assert conf2["host"]["value"] == "example.com"
    assert conf2["port"]["value"] == 8443
    assert conf2["host"]["label"] == "Host"
    assert conf2["port"]["validations"] == CONFIG["port"]["validations"]

    # partial values leave the others untouched
    es.connector.update_configuration(connector_id=cid, values={"port": 1})
    conf3 = es.connector.get(connector_id=cid)["configuration"]
    assert conf3["host"]["value"] == "example.com"
    assert conf3["port"]["value"] == 1


def test_update_configuration_values_set_configured(es, connector_factory):
    cid, _ = connector_factory()
    es.connector.update_configuration(connector_id=cid, configuration=CONFIG)
    es.connector.update_status(connector_id=cid, status="connected")
    es.connector.update_configuration(connector_id=cid, values={"host": "h"})
    assert es.connector.get(connector_id=cid)["status"] == "configured"


def test_update_configuration_unknown_key_400(es, connector_factory):
    cid, _ = connector_factory()
    es.connector.update_configuration(connector_id=cid, configuration=CONFIG)
    with raises_api(BadRequestError, 400) as info:
        es.connector.update_configuration(connector_id=cid, values={"host": "h", "nope": 1})
    assert "Unknown [configuration] fields in the request payload: [nope]" in error_reason(info.value)
    assert es.connector.get(connector_id=cid)["configuration"]["host"]["value"] == ""


def test_update_configuration_empty_body_400(es, connector_factory):
    cid, _ = connector_factory()
    with raises_api(BadRequestError, 400):
        es.connector.update_configuration(connector_id=cid, body={})


# --- scheduling / pipeline / name / service type / native / index name / features ----------


def test_update_scheduling(es, connector_factory):
    cid, _ = connector_factory()
    r = es.connector.update_scheduling(
        connector_id=cid,
        scheduling={
            "access_control": {"enabled": True, "interval": "1 0 0 * * ?"},
            "full": {"enabled": False, "interval": "2 0 0 * * ?"},
            "incremental": {"enabled": False, "interval": "3 0 0 * * ?"},
        },
    )
    assert r.body == {"result": "updated"}
    s = es.connector.get(connector_id=cid)["scheduling"]
    assert s == {
        "access_control": {"enabled": True, "interval": "1 0 0 * * ?"},
        "full": {"enabled": False, "interval": "2 0 0 * * ?"},
        "incremental": {"enabled": False, "interval": "3 0 0 * * ?"},
    }


def test_update_scheduling_single_schedule_merges(es, connector_factory):
    cid, _ = connector_factory()
    es.connector.update_scheduling(connector_id=cid, scheduling={"incremental": {"enabled": True, "interval": "3 0 0 * * ?"}})
    s = es.connector.get(connector_id=cid)["scheduling"]
    assert s["incremental"] == {"enabled": True, "interval": "3 0 0 * * ?"}
    assert s["full"] == {"enabled": False, "interval": DEFAULT_INTERVAL}
    assert s["access_control"] == {"enabled": False, "interval": DEFAULT_INTERVAL}


def test_update_scheduling_bad_cron_400(es, connector_factory):
    cid, _ = connector_factory()
    with raises_api(BadRequestError, 400):
        es.connector.update_scheduling(
            connector_id=cid,
            scheduling={
                "access_control": {"enabled": True, "interval": "61 0 0 * * ?"},
                "full": {"enabled": False, "interval": "2 0 0 * * ?"},
                "incremental": {"enabled": False, "interval": "3 0 0 * * ?"},
            },
        )
    with raises_api(BadRequestError, 400):
        es.connector.update_scheduling(connector_id=cid, scheduling={"full": {"enabled": True, "interval": "not a cron"}})
    assert es.connector.get(connector_id=cid)["scheduling"]["access_control"]["interval"] == DEFAULT_INTERVAL


def _causes(e):
    """The reasons of an error and of its chain of `caused_by`, outermost first."""
    out = []
    c = e.body["error"]
    while isinstance(c, dict):
        out.append(c.get("reason"))
        c = c.get("caused_by")
    return out


@pytest.mark.parametrize(
    "interval,bound",
    [
        ("61 0 0 * * ?", "Minute and Second values must be between 0 and 59"),
        ("0 60 0 * * ?", "Minute and Second values must be between 0 and 59"),
        ("0 0 24 * * ?", "Hour values must be between 0 and 23"),
        ("0 0 0 32 * ?", "Day of month values must be between 1 and 31"),
        ("0 0 0 ? 13 *", "Month values must be between 1 and 12"),
        ("0 0 0 ? * 8", "Day-of-Week values must be between 1 and 7"),
    ],
)
def test_update_scheduling_out_of_range_fields_400(es, connector_factory, interval, bound):
    # Issue 12: Elasticsearch's `Cron` checks every field's range; the innermost cause names it.
    cid, _ = connector_factory()
    with raises_api(BadRequestError, 400, "x_content_parse_exception") as info:
        es.connector.update_scheduling(connector_id=cid, scheduling={"full": {"enabled": True, "interval": interval}})
    causes = _causes(info.value)
    assert f"invalid cron expression [{interval}]" in causes, causes
    assert causes[-1] == f"illegal cron expression format [java.lang.IllegalArgumentException: {bound}]", causes
    assert es.connector.get(connector_id=cid)["scheduling"]["full"]["interval"] == DEFAULT_INTERVAL


def test_update_scheduling_bounds_accepted(es, connector_factory):
    cid, _ = connector_factory()
    for interval in ["59 59 23 31 12 ?", "0 0 0 ? 1 7", "0 0 0 ? JAN-DEC SUN-SAT", "0 0 0 L * ?", "0 0 0 ? * 6#3"]:
        r = es.connector.update_scheduling(connector_id=cid, scheduling={"full": {"enabled": True, "interval": interval}})
        assert r.body == {"result": "updated"}, interval
        assert es.connector.get(connector_id=cid)["scheduling"]["full"]["interval"] == interval


def test_update_scheduling_empty_400(es, connector_factory):
    # YAML 50_connector_update_scheduling "Schedules are missing": `scheduling: {}` is a bad request
    cid, _ = connector_factory()
    with raises_api(BadRequestError, 400):
        es.connector.update_scheduling(connector_id=cid, scheduling={})


def test_update_scheduling_missing_connector_404(es):
    with raises_api(NotFoundError, 404):
        es.connector.update_scheduling(
            connector_id=f"c-missing-{uid()}", scheduling={"full": {"enabled": True, "interval": "1 0 0 * * ?"}}
        )


def test_update_pipeline_name_service_type(es, connector_factory):
    cid, _ = connector_factory()
    pipe = {"name": "my-pipe", "extract_binary_content": True, "reduce_whitespace": False, "run_ml_inference": False}
    assert es.connector.update_pipeline(connector_id=cid, pipeline=pipe).body == {"result": "updated"}
    assert es.connector.get(connector_id=cid)["pipeline"] == pipe
    assert es.connector.update_name(connector_id=cid, name="n1", description="d1").body == {"result": "updated"}
    c = es.connector.get(connector_id=cid)
    assert (c["name"], c["description"]) == ("n1", "d1")
    # service type change keeps status created
    es.connector.update_service_type(connector_id=cid, service_type="other")
    c = es.connector.get(connector_id=cid)
    assert c["service_type"] == "other" and c["status"] == "created"
    # ... but moves any other status to needs_configuration
    es.connector.update_status(connector_id=cid, status="needs_configuration")
    es.connector.update_status(connector_id=cid, status="configured")
    es.connector.update_service_type(connector_id=cid, service_type="third")
    assert es.connector.get(connector_id=cid)["status"] == "needs_configuration"


def test_update_native_and_index_name(es, connector_factory):
    cid, idx = connector_factory()
    with raises_api(BadRequestError, 400):
        es.connector.update_native(connector_id=cid, is_native=True)  # index lacks content- prefix
    new_idx = f"content-{uid()}"
    assert es.connector.update_index_name(connector_id=cid, index_name=new_idx).body == {"result": "updated"}
    es.connector.update_native(connector_id=cid, is_native=True)
    c = es.connector.get(connector_id=cid)
    assert c["is_native"] is True and c["index_name"] == new_idx
    # index name used by another connector
    cid2, idx2 = connector_factory()
    with raises_api(BadRequestError, 400):
        es.connector.update_index_name(connector_id=cid2, index_name=new_idx)
    # null detaches
    es.connector.update_index_name(connector_id=cid2, body={"index_name": None})
    assert es.connector.get(connector_id=cid2).body.get("index_name") is None


def test_update_native_moves_connected_to_configured(es, connector_factory):
    cid, _ = connector_factory(index_name=f"content-{uid()}")
    for st in ("needs_configuration", "configured", "connected"):
        es.connector.update_status(connector_id=cid, status=st)
    r = es.connector.update_native(connector_id=cid, is_native=True)
    assert r.body == {"result": "updated"}
    c = es.connector.get(connector_id=cid)
    assert c["is_native"] is True
    assert c["status"] == "configured"


def test_update_features_and_api_key_id(es, connector_factory):
    cid, _ = connector_factory()
    features = {
        "document_level_security": {"enabled": True},
        "incremental_sync": {"enabled": False},
        "sync_rules": {"basic": {"enabled": True}, "advanced": {"enabled": False}},
    }
    assert es.connector.update_features(connector_id=cid, features=features).body == {"result": "updated"}
    got = es.connector.get(connector_id=cid)["features"]
    for k, v in features.items():
        assert got[k] == v
    es.connector.update_api_key_id(connector_id=cid, api_key_id="key-1")
    c = es.connector.get(connector_id=cid)
    assert c["api_key_id"] == "key-1"


# --- filtering ----------------------------------------------------------------------------


def test_update_filtering_draft_sorted_and_edited(es, connector_factory):
    cid, _ = connector_factory()
    before = es.connector.get(connector_id=cid)["filtering"][0]["active"]
    rules = [
        rule("DEFAULT", 0),
        rule("r2", 2, field="title", policy="exclude", rule_="contains", value="secret"),
        rule("r1", 1, field="path", policy="include", rule_="starts_with", value="/docs"),
    ]
    r = es.connector.update_filtering(connector_id=cid, rules=rules, advanced_snippet={"value": {"query": "SELECT 1"}})
    assert r.body == {"result": "updated"}
    f = es.connector.get(connector_id=cid)["filtering"][0]
    draft = f["draft"]
    assert [x["id"] for x in draft["rules"]] == ["r1", "r2", "DEFAULT"]
    # ConnectorFiltering.sortFilteringRulesByOrder: DEFAULT is re-added last with order = last + 1
    assert [x["order"] for x in draft["rules"]] == [1, 2, 3]
    default = draft["rules"][-1]
    assert (default["field"], default["policy"], default["rule"], default["value"]) == ("_", "include", "regex", ".*")
    assert draft["rules"][0]["value"] == "/docs" and draft["rules"][0]["rule"] == "starts_with"
    assert draft["advanced_snippet"]["value"] == {"query": "SELECT 1"}
    assert draft["validation"] == {"state": "edited", "errors": []}
    assert f["active"] == before


def test_update_filtering_draft_always_ends_with_default_rule(es, connector_factory):
    cid, _ = connector_factory()
    # no DEFAULT rule given: it is appended with order = last order + 1
    es.connector.update_filtering(connector_id=cid, rules=[rule("only", 4, field="a", rule_="equals", value="b")])
    rules = es.connector.get(connector_id=cid)["filtering"][0]["draft"]["rules"]
    assert [(r["id"], r["order"]) for r in rules] == [("only", 4), ("DEFAULT", 5)]
    assert (rules[1]["field"], rules[1]["policy"], rules[1]["rule"], rules[1]["value"]) == ("_", "include", "regex", ".*")
    # an empty rule list becomes the DEFAULT rule alone, order 0
    es.connector.update_filtering(connector_id=cid, rules=[])
    rules = es.connector.get(connector_id=cid)["filtering"][0]["draft"]["rules"]
    assert [(r["id"], r["order"]) for r in rules] == [("DEFAULT", 0)]


def test_filtering_validation_and_activation(es, connector_factory):
    cid, _ = connector_factory()
    es.connector.update_filtering(
        connector_id=cid,
        rules=[rule("r1", 0, field="a", rule_="equals", value="b"), rule("DEFAULT", 1)],
        advanced_snippet={"value": {"q": 1}},
    )
    # edited draft cannot be activated
    with raises_api(BadRequestError, 400) as info:
        es.connector.update_active_filtering(connector_id=cid)
    assert "Filtering draft needs to be validated" in error_reason(info.value)

    invalid = {"state": "invalid", "errors": [{"ids": ["r1"], "messages": ["bad rule"]}]}
    r = es.connector.update_filtering_validation(connector_id=cid, validation=invalid)
    assert r.body == {"result": "updated"}
    assert es.connector.get(connector_id=cid)["filtering"][0]["draft"]["validation"] == invalid
    with raises_api(BadRequestError, 400):
        es.connector.update_active_filtering(connector_id=cid)

    es.connector.update_filtering_validation(connector_id=cid, validation={"state": "valid", "errors": []})
    r = es.connector.update_active_filtering(connector_id=cid)
    assert r.body == {"result": "updated"}
    f = es.connector.get(connector_id=cid)["filtering"][0]
    assert [x["id"] for x in f["active"]["rules"]] == ["r1", "DEFAULT"]
    assert f["active"]["rules"] == f["draft"]["rules"]
    assert f["active"]["advanced_snippet"]["value"] == {"q": 1}
    assert f["active"]["validation"]["state"] == "valid"


def test_update_filtering_full_replace(es, connector_factory):
    cid, _ = connector_factory()
    state = {
        "advanced_snippet": {"created_at": T0, "updated_at": T0, "value": {}},
        "rules": [rule("RULE-ACTIVE", 0)],
        "validation": {"errors": [], "state": "valid"},
    }
    draft = {**state, "rules": [rule("RULE-DRAFT", 0)]}
    r = es.connector.update_filtering(connector_id=cid, filtering=[{"domain": "DEFAULT", "active": state, "draft": draft}])
    assert r.body == {"result": "updated"}
    f = es.connector.get(connector_id=cid)["filtering"]
    assert len(f) == 1
    assert f[0]["active"]["rules"][0]["id"] == "RULE-ACTIVE"
    assert f[0]["draft"]["rules"][0]["id"] == "RULE-DRAFT"
    assert f[0]["active"]["advanced_snippet"]["created_at"] == T0


# --- delete -------------------------------------------------------------------------------


def test_soft_delete(es, connector_factory):
    cid, idx = connector_factory(name="to-delete")
    r = es.connector.delete(connector_id=cid)
    assert r.body == {"acknowledged": True}
    with raises_api(NotFoundError, 404, "resource_not_found_exception"):
        es.connector.get(connector_id=cid)
    c = es.connector.get(connector_id=cid, include_deleted=True)
    assert c["deleted"] is True
    assert c["id"] == cid and c["index_name"] == idx and c["name"] == "to-delete"
    # the document is still there
    raw = es.options(headers=CONNECTORS_ORIGIN).get(index=".elastic-connectors", id=cid)
    assert raw["_source"]["deleted"] is True


def test_hard_delete(es, connector_factory):
    cid, _ = connector_factory()
    r = es.connector.delete(connector_id=cid, hard=True)
    assert r.body == {"acknowledged": True}
    with raises_api(NotFoundError, 404):
        es.connector.get(connector_id=cid, include_deleted=True)


def test_delete_missing_404(es):
    with raises_api(NotFoundError, 404):
        es.connector.delete(connector_id=f"c-missing-{uid()}")


def test_delete_with_sync_jobs(es, connector_factory):
    cid, _ = connector_factory()
    keep, _ = connector_factory()
    for _ in range(3):
        es.connector.sync_job_post(id=cid)
    es.connector.sync_job_post(id=keep)
    assert es.connector.sync_job_list(connector_id=cid)["count"] == 3
    r = es.connector.delete(connector_id=cid, delete_sync_jobs=True)
    assert r.body == {"acknowledged": True}
    assert es.connector.sync_job_list(connector_id=cid)["count"] == 0
    assert es.connector.sync_job_list(connector_id=keep)["count"] == 1


def test_delete_keeps_sync_jobs_by_default(es, connector_factory):
    cid, _ = connector_factory()
    es.connector.sync_job_post(id=cid)
    es.connector.delete(connector_id=cid, delete_sync_jobs=False)
    assert es.connector.sync_job_list(connector_id=cid)["count"] == 1


# --- direct access to the connector index -------------------------------------------------


def test_direct_read_of_connectors_alias(es, connector_factory):
    cid, idx = connector_factory(name="direct")
    es.connector.update_configuration(connector_id=cid, configuration=CONFIG)
    api = es.connector.get(connector_id=cid).body
    direct = es.options(headers=CONNECTORS_ORIGIN)
    assert direct.indices.exists(index=".elastic-connectors-v1").body is True
    g = direct.get(index=".elastic-connectors", id=cid)
    assert g["_index"] == ".elastic-connectors-v1"
    assert g["_id"] == cid
    assert "id" not in g["_source"]
    expected = dict(api)
    expected.pop("id")
    assert g["_source"] == expected

    # the Python service searches the alias with expand_wildcards=hidden and seq_no_primary_term
    r = direct.search(
        index=".elastic-connectors",
        query={"bool": {"filter": [{"term": {"index_name": idx}}, {"term": {"deleted": False}}]}},
        seq_no_primary_term=True,
        expand_wildcards="hidden",
    )
    hits = r["hits"]["hits"]
    assert [h["_id"] for h in hits] == [cid]
    assert hits[0]["_index"] == ".elastic-connectors-v1"
    assert hits[0]["_source"] == expected
    assert hits[0]["_seq_no"] == g["_seq_no"]
    r = direct.search(index=".elastic-connectors", query={"terms": {"_id": [cid]}})
    assert r["hits"]["total"]["value"] == 1


def test_direct_update_of_connector_doc(es, connector_factory):
    cid, _ = connector_factory()
    direct = es.options(headers=CONNECTORS_ORIGIN)
    g = direct.get(index=".elastic-connectors", id=cid)
    u = direct.update(
        index=".elastic-connectors",
        id=cid,
        doc={"last_sync_status": "completed", "last_indexed_document_count": 5, "status": "connected"},
        if_seq_no=g["_seq_no"],
        if_primary_term=g["_primary_term"],
    )
    assert u["_index"] == ".elastic-connectors-v1"
    assert u["result"] == "updated"
    c = es.connector.get(connector_id=cid)
    assert c["last_sync_status"] == "completed"
    assert c["last_indexed_document_count"] == 5
    assert c["status"] == "connected"
    # a stale seq_no conflicts
    with raises_api(Exception, 409, "version_conflict_engine_exception"):
        direct.update(
            index=".elastic-connectors",
            id=cid,
            doc={"last_sync_status": "error"},
            if_seq_no=g["_seq_no"],
            if_primary_term=g["_primary_term"],
        )


def test_last_sync(es, connector_factory):
    cid, _ = connector_factory()
    r = es.connector.last_sync(
        connector_id=cid,
        last_sync_status="completed",
        last_sync_error=None,
        last_synced="2024-01-02T03:04:05.678Z",
        last_indexed_document_count=12,
        last_deleted_document_count=3,
        sync_cursor={"cursor_timestamp": "2024-01-02T03:04:05Z"},
    )
    assert r.body == {"result": "updated"}
    c = es.connector.get(connector_id=cid)
    assert c["last_sync_status"] == "completed"
    assert c["last_synced"] == "2024-01-02T03:04:05.678Z"
    assert c["last_indexed_document_count"] == 12
    assert c["last_deleted_document_count"] == 3
    assert c["sync_cursor"] == {"cursor_timestamp": "2024-01-02T03:04:05Z"}
    # partial: other fields untouched
    es.connector.last_sync(connector_id=cid, last_access_control_sync_status="in_progress")
    c = es.connector.get(connector_id=cid)
    assert c["last_access_control_sync_status"] == "in_progress"
    assert c["last_sync_status"] == "completed"


def test_connector_secrets(es):
    J = {"accept": "application/json", "content-type": "application/json"}
    r = es.perform_request("POST", "/_connector/_secret", headers=J, body={"value": "s3cr3t"})
    sid = r["id"]
    assert isinstance(sid, str) and sid
    g = es.perform_request("GET", f"/_connector/_secret/{sid}", headers=J)
    assert g.body == {"id": sid, "value": "s3cr3t"}
    p = es.perform_request("PUT", f"/_connector/_secret/{sid}", headers=J, body={"value": "new"})
    assert p["result"] in ("updated", "created")
    assert es.perform_request("GET", f"/_connector/_secret/{sid}", headers=J)["value"] == "new"
    d = es.perform_request("DELETE", f"/_connector/_secret/{sid}", headers=J)
    assert d.body == {"deleted": True}
    with raises_api(NotFoundError, 404):
        es.perform_request("GET", f"/_connector/_secret/{sid}", headers=J)
    with raises_api(NotFoundError, 404):
        es.perform_request("DELETE", f"/_connector/_secret/{sid}", headers=J)

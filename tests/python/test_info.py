"""GET /, the product check, cluster health and REST-compatibility media types."""

import pytest
from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from support import raises_api, raw

VENDOR_JSON = "application/vnd.elasticsearch+json"


def _norm(ctype: str) -> str:
    return (ctype or "").replace(" ", "").lower()


def test_info_shape(es):
    resp = es.info()
    body = resp.body
    for key in ("name", "cluster_name", "cluster_uuid", "version", "tagline"):
        assert key in body, body
    assert body["tagline"] == "You Know, for Search"
    v = body["version"]
    for key in (
        "number",
        "build_flavor",
        "build_type",
        "build_hash",
        "build_date",
        "build_snapshot",
        "lucene_version",
        "minimum_wire_compatibility_version",
        "minimum_index_compatibility_version",
    ):
        assert key in v, v
    assert v["build_flavor"] == "default"
    assert v["number"].split(".")[0] == "9"
    assert isinstance(v["build_snapshot"], bool)


@pytest.mark.sim_only
def test_info_default_version_is_9_6_0(es):
    assert es.info()["version"]["number"] == "9.6.0"


def test_head_root(es):
    assert es.ping() is True
    status, _, _ = raw(es, "HEAD", "/")
    assert status == 200


def test_product_check_passes_with_fresh_client(new_client):
    # A fresh client has not verified the product yet: the first 2xx response must carry
    # X-Elastic-Product: Elasticsearch or the client raises UnsupportedProductError.
    client = new_client()
    resp = client.info()
    assert resp.meta.headers.get("x-elastic-product") == "Elasticsearch"
    assert client._verified_elasticsearch is True
    # also when the first call is not GET /
    client2 = new_client()
    client2.cluster.health()
    assert client2._verified_elasticsearch is True


def test_product_header_on_every_response(es, index_name):
    es.indices.create(index=index_name)
    checks = [
        ("GET", "/"),
        ("GET", "/_cluster/health"),
        ("GET", f"/{index_name}/_search"),
        ("GET", f"/{index_name}/_doc/missing"),  # 404 non-envelope
        ("GET", "/no-such-index-xyz/_search"),  # 404 envelope
        ("GET", f"/{index_name}/_mapping"),
        ("GET", "/_connector/no-such-connector-xyz"),  # 404
    ]
    for method, path in checks:
        status, headers, _ = raw(es, method, path, headers={"accept": "application/json"})
        assert headers.get("x-elastic-product") == "Elasticsearch", (method, path, status)


def test_cluster_health(es, index_name):
    h = es.cluster.health()
    assert h["status"] in ("green", "yellow")
    assert h["timed_out"] is False
    assert isinstance(h["cluster_name"], str) and h["cluster_name"]
    assert h["number_of_nodes"] >= 1
    for key in ("active_shards", "unassigned_shards", "number_of_data_nodes"):
        assert key in h, h
    es.indices.create(index=index_name)
    h2 = es.cluster.health(index=index_name, wait_for_status="yellow", timeout="10s")
    assert h2["status"] in ("green", "yellow")
    assert h2["timed_out"] is False


def test_cluster_name_consistent(es):
    assert es.info()["cluster_name"] == es.cluster.health()["cluster_name"]


# --- REST compatibility (compatible-with) -------------------------------------------------


def test_client_sends_compatible_with_9_and_server_echoes(es):
    resp = es.info()
    ctype = _norm(resp.meta.headers.get("content-type"))
    assert ctype.startswith(VENDOR_JSON), ctype
    assert "compatible-with=9" in ctype, ctype


def test_compatible_with_8_is_accepted(es, index_name):
    v8 = f"{VENDOR_JSON}; compatible-with=8"
    resp = es.perform_request("GET", "/", headers={"accept": v8})
    assert resp.meta.status == 200
    assert resp.body["version"]["number"].startswith("9.")
    ctype = _norm(resp.meta.headers.get("content-type"))
    assert ctype.startswith(VENDOR_JSON) and "compatible-with=8" in ctype, ctype

    # with a body: Accept and Content-Type both at 8
    resp = es.perform_request(
        "PUT",
        f"/{index_name}/_doc/1",
        headers={"accept": v8, "content-type": v8},
        body={"a": 1},
        params={"refresh": "true"},
    )
    assert resp.meta.status == 201
    assert resp.body["result"] == "created"

    # NDJSON bulk with the 8 vendor type
    nd8 = "application/vnd.elasticsearch+x-ndjson; compatible-with=8"
    resp = es.perform_request(
        "POST",
        "/_bulk",
        headers={"accept": v8, "content-type": nd8},
        body=[{"index": {"_index": index_name, "_id": "2"}}, {"a": 2}],
    )
    assert resp.meta.status == 200
    assert resp.body["errors"] is False


def test_plain_json_is_accepted(es):
    status, headers, body = raw(es, "GET", "/", headers={"accept": "application/json"})
    assert status == 200
    assert body["tagline"] == "You Know, for Search"
    assert _norm(headers.get("content-type")).startswith("application/json")


def test_mismatched_compatible_versions_400(es, index_name):
    with raises_api(BadRequestError, 400, "media_type_header_exception") as info:
        es.perform_request(
            "PUT",
            f"/{index_name}/_doc/1",
            headers={
                "accept": f"{VENDOR_JSON}; compatible-with=9",
                "content-type": f"{VENDOR_JSON}; compatible-with=8",
            },
            body={"a": 1},
        )
    assert "Invalid media-type value on headers" in info.value.body["error"]["reason"]


@pytest.mark.parametrize("version", ["7", "10"])
def test_unsupported_compatible_version_400(es, version):
    with raises_api(BadRequestError, 400, "media_type_header_exception") as info:
        es.perform_request(
            "GET", "/", headers={"accept": f"{VENDOR_JSON}; compatible-with={version}"}
        )
    assert "Invalid media-type value on headers" in info.value.body["error"]["reason"]
    assert info.value.body.get("status") == 400

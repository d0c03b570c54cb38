"""/docs off by default (and safe when on); image URLs that never follow an arbitrary Host
header; HSTS on every response served over https and never over plain http."""

from __future__ import annotations

import httpx
import pytest

from imagedesigner.errors import InvalidRequest
from imagedesigner.web.templating import security_headers
from tests.api.live import LiveServer, account
from tests.conftest import make_settings

HSTS = "max-age=63072000; includeSubDomains"
URL_GEN = {"prompt": "a cat", "size": "256x256", "response_format": "url"}


def client_for(app, base_url: str, client=("127.0.0.1", 50000)) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=client)
    return httpx.AsyncClient(transport=transport, base_url=base_url)


# --- /docs ---------------------------------------------------------------------------------
async def test_docs_are_off_by_default_and_openapi_json_stays(client):
    r = await client.get("/docs")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert (await client.get("/redoc")).status_code == 404
    assert (await client.get("/docs/oauth2-redirect")).status_code == 404
    r = await client.get("/openapi.json")
    assert r.status_code == 200 and r.json()["info"]["title"] == "ImageDesigner"


@pytest.mark.parametrize("settings_overrides", [{"api_docs": True}])
async def test_docs_when_on_have_no_third_party_asset_and_the_page_headers(client):
    r = await client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    expected = security_headers()
    for name in ("X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"):
        assert r.headers[name] == expected[name]
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    page = r.text.lower()
    assert "<script" not in page and "src=" not in page and "cdn" not in page
    assert "<style" not in page and 'href="/static/docs.' in page  # its own hashed stylesheet
    assert "http://" not in page and "https://" not in page
    assert "/v1/images/generations" in r.text and "ErrorResponse" in r.text


# --- image URLs and the Host header ----------------------------------------------------------
async def image_url(app, auth, host: str | None, base_url: str = "http://testserver") -> str:
    async with client_for(app, base_url) as c:
        headers = {**auth, **({"Host": host} if host else {})}
        r = await c.post("/v1/images/generations", json=URL_GEN, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["data"][0]["url"]


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "localhost.evil.example", "a/b", "x@evil.example"]
)
async def test_an_unknown_host_header_is_not_followed(app, auth, host):
    url = await image_url(app, auth, host)
    assert url.startswith("http://127.0.0.1:8000/v1/images/img_"), url  # host and port settings


@pytest.mark.parametrize(
    ("host", "base"),
    [
        ("localhost:8123", "http://localhost:8123"),
        ("127.0.0.1:9000", "http://127.0.0.1:9000"),
        ("[::1]:9000", "http://[::1]:9000"),
        ("testserver", "http://testserver"),  # the address this connection arrived at
    ],
)
async def test_loopback_and_own_addresses_are_followed(app, auth, host, base):
    assert (await image_url(app, auth, host)).startswith(f"{base}/v1/images/img_")


@pytest.mark.parametrize(
    "settings_overrides", [{"allowed_hosts": ["img.example.com"], "host": "0.0.0.0"}]
)
async def test_allowed_hosts_are_followed_and_others_get_the_configured_address(app, auth):
    assert (await image_url(app, auth, "IMG.example.com")).startswith("http://img.example.com/")
    assert (await image_url(app, auth, "img.example.com:8443")).startswith(
        "http://img.example.com:8443/"
    )
    # bound to every interface: the fallback names this machine's loopback, not 0.0.0.0
    assert (await image_url(app, auth, "evil.example")).startswith("http://127.0.0.1:8000/")


@pytest.mark.parametrize("settings_overrides", [{"public_url": "https://img.example.com/"}])
async def test_the_public_url_wins(app, auth):
    for host in ("evil.example", "localhost", None):
        assert (await image_url(app, auth, host)).startswith("https://img.example.com/v1/images/")


def test_over_real_http_the_host_header_is_ignored_unless_it_is_the_server(tmp_path):
    settings = make_settings(tmp_path / "data", port=1)  # not where the server listens
    _, key = account(settings)
    auth = {"Authorization": f"Bearer {key}"}
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, headers=auth) as c:
        own = c.post("/v1/images/generations", json=URL_GEN)
        evil = c.post("/v1/images/generations", json=URL_GEN, headers={"Host": "evil.example"})
        assert own.json()["data"][0]["url"].startswith(f"{server.url}/v1/images/")
        assert evil.json()["data"][0]["url"].startswith("http://127.0.0.1:1/v1/images/")
        assert c.get(own.json()["data"][0]["url"]).status_code == 200


# --- HSTS ------------------------------------------------------------------------------------
async def test_hsts_on_every_https_response(app, auth):
    @app.get("/v1/test-hsts-400")
    async def refused():
        raise InvalidRequest("no")

    @app.get("/v1/test-hsts-500")
    async def broken():
        raise RuntimeError("boom")

    async with client_for(app, "https://testserver") as c:
        answers = [
            await c.get("/v1/models", headers=auth),
            await c.get("/healthz"),
            await c.get("/v1/nothing"),
            await c.get("/v1/me"),  # 401
            await c.get("/v1/test-hsts-400"),
            await c.get("/v1/test-hsts-500"),
            await c.post(
                "/v1/images/generations",
                content=b"x" * 10,
                headers={**auth, "content-length": str(10**12)},
            ),  # 413 from the body cap
            await c.get("/privacy"),
        ]
    assert [r.status_code for r in answers] == [200, 200, 404, 401, 400, 500, 413, 200]
    for r in answers:
        assert r.headers.get_list("strict-transport-security") == [HSTS], r.request.url
    # and a random x-request-id on every one of them (the 500 and the 413 included)
    ids = [r.headers.get_list("x-request-id") for r in answers]
    assert all(len(i) == 1 and i[0].startswith("req_") and len(i[0]) == 36 for i in ids), ids
    assert len({i[0] for i in ids}) == len(answers)


async def test_no_hsts_over_plain_http(app, auth):
    async with client_for(app, "http://testserver") as c:
        for r in (await c.get("/v1/models", headers=auth), await c.get("/v1/me", headers=auth)):
            assert r.status_code == 200 and "strict-transport-security" not in r.headers


@pytest.mark.parametrize("settings_overrides", [{"trusted_proxies": ["10.0.0.0/8"]}])
async def test_hsts_behind_a_trusted_proxy_only(app):
    https = {"X-Forwarded-Proto": "https"}
    async with client_for(app, "http://testserver", client=("10.1.2.3", 1)) as proxy:
        assert (await proxy.get("/healthz", headers=https)).headers["strict-transport-security"]
        assert "strict-transport-security" not in (await proxy.get("/healthz")).headers
    async with client_for(app, "http://testserver", client=("203.0.113.9", 1)) as stranger:
        r = await stranger.get("/healthz", headers=https)  # anyone can send the header
        assert "strict-transport-security" not in r.headers

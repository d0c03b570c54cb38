"""The front-end pipeline and the routes the studio relies on, over HTTP in-process: hashed
static files with a long cache, a CSP without nonces and nothing inline, downloads with a
readable file name, the gallery as a ZIP, and a browser budget apart from the API's."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from imagedesigner.web import assets
from imagedesigner.web.templating import TEMPLATES

PNG = b"\x89PNG\r\n\x1a\n"


def test_no_inline_script_style_or_handler_in_any_template():
    for path in sorted(TEMPLATES.glob("*.html")):
        text = path.read_text()
        scripts = re.findall(r"<script\b[^>]*>", text)
        assert all("src=" in tag for tag in scripts), f"inline script in {path.name}"
        assert "<style" not in text, f"inline <style> in {path.name}"
        assert not re.search(r"\sstyle\s*=", text), f"style attribute in {path.name}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"inline event handler in {path.name}"
        assert "nonce" not in text


def test_static_files_js_has_no_eval_or_inline_html_handlers():
    for name, found in assets.catalogue().items():
        if name.endswith(".js"):
            body = found.body.decode()
            assert "eval(" not in body and "new Function" not in body, name
            assert "innerHTML" not in body, f"{name}: build nodes, do not parse HTML"


async def test_pages_use_hashed_assets_with_a_long_cache_and_a_strict_csp(client):
    page = await client.get("/login")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "nonce" not in csp and "unsafe-inline" not in csp
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert any(u.endswith(".css") for u in urls) and any(u.endswith(".js") for u in urls)
    for url in urls:
        assert re.fullmatch(r"/static/[a-z]+\.[0-9a-f]{12}\.(js|css|svg)", url), url
        got = await client.get(url)
        assert got.status_code == 200
        assert got.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert got.headers["x-content-type-options"] == "nosniff"
        kind = url.rsplit(".", 1)[1]
        assert {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}[kind] in (
            got.headers["content-type"]
        )
    # only the hashed names exist: an old page never runs a new script
    assert (await client.get("/static/app.js")).status_code == 404
    assert (await client.get("/static/../config.py")).status_code == 404


def test_a_hashed_name_follows_the_content(tmp_path):
    a, b = tmp_path / "x.js", tmp_path / "y.js"
    a.write_text("1")
    b.write_text("2")
    assert assets._hashed_name(a, b"1") != assets._hashed_name(a, b"2")
    assert assets.asset("studio.js").startswith("/static/studio.")


async def _generate(client, auth, prompt="A red house, at night!", n=1) -> dict:
    r = await client.post(
        "/v1/images/generations",
        headers=auth,
        json={
            "prompt": prompt,
            "model": "local/sketch",
            "n": n,
            "size": "256x256",
            "response_format": "url",
        },
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_download_answers_a_file_named_after_the_prompt(client, auth):
    body = await _generate(client, auth)
    url = "/v1/images/" + body["data"][0]["url"].rsplit("/v1/images/", 1)[1]
    image_id = url.rsplit("/", 1)[1].split("?")[0]
    plain = await client.get(url, headers=auth)
    assert "content-disposition" not in plain.headers
    got = await client.get(url, headers=auth, params={"download": "1"})
    assert got.status_code == 200 and got.content.startswith(PNG)
    assert got.headers["content-disposition"] == (
        f'attachment; filename="a-red-house-at-night-{image_id}.png"'
    )


async def test_the_gallery_downloads_as_one_zip(client, auth):
    body = await _generate(client, auth, prompt="two moons", n=2)
    assert (await client.post("/v1/me/consents/gallery", headers=auth)).status_code == 200
    saved = await client.post(f"/v1/generations/{body['id']}/save", headers=auth)
    assert saved.status_code == 200
    got = await client.get("/v1/gallery/export", headers=auth)
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    assert "imagedesigner-gallery.zip" in got.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(got.content)) as zf:
        index = json.loads(zf.read("gallery.json"))
        images = [n for n in zf.namelist() if n.endswith(".png")]
        assert len(images) == 2 and all(n.startswith("two-moons-") for n in images)
        assert all(zf.read(n).startswith(PNG) for n in images)
    assert index["items"][0]["prompt"] == "two moons"
    assert sorted(index["items"][0]["files"]) == sorted(images)


@pytest.mark.parametrize("settings_overrides", [{"rate_limit": "3/minute"}])
async def test_the_signed_in_browser_has_a_budget_apart_from_the_api_key(client, auth):
    for _ in range(3):
        assert (await client.get("/v1/generations", headers=auth)).status_code == 200
    assert (await client.get("/v1/generations", headers=auth)).status_code == 429
    login = await client.post(
        "/v1/auth/login", json={"email": "ada@example.com", "password": "correct horse battery"}
    )
    assert login.status_code == 200
    csrf = login.json()["csrf_token"]
    for _ in range(20):  # a history full of thumbnails, from the browser
        assert (await client.get("/v1/generations")).status_code == 200
    erased = await client.delete("/v1/me", headers={"x-csrf-token": csrf})
    assert erased.status_code == 200, "the API's burst does not block deleting the account"

"""Signed image links: the HMAC binds the image id and the expiry; the expiry is the shorter
of the setting and the content's own life; a link stops at its expiry, and (over HTTP) at once
when the image is deleted or expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from imagedesigner import errors
from imagedesigner.generation import links

SECRET = b"s3cret"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_expiry_is_the_setting_or_the_content_whichever_is_first():
    assert links.expiry(NOW, HOUR, None) == int((NOW + HOUR).timestamp())
    soon = NOW + timedelta(minutes=10)
    assert links.expiry(NOW, HOUR, soon) == int(soon.timestamp())
    assert links.expiry(NOW, HOUR, NOW + timedelta(days=1)) == int((NOW + HOUR).timestamp())


def test_a_signature_binds_image_and_expiry_and_secret():
    exp = links.expiry(NOW, HOUR, None)
    sig = links.sign(SECRET, "img_a", exp)
    links.verify(SECRET, "img_a", exp, sig, NOW)  # no error
    links.verify(SECRET, "img_a", exp, sig.upper(), NOW)  # hex in either case
    for image, expires, secret, signature in (
        ("img_b", exp, SECRET, sig),  # another image
        ("img_a", exp + 3600, SECRET, sig),  # a later expiry
        ("img_a", exp, b"other", sig),  # another server
        ("img_a", exp, SECRET, sig[:-1]),  # truncated
        ("img_a", exp, SECRET, "é" * 64),  # not hex at all
    ):
        with pytest.raises(errors.PermissionDenied) as info:
            links.verify(secret, image, expires, signature, NOW)
        assert info.value.code == "invalid_signature"


def test_a_link_stops_at_its_expiry_to_the_second():
    exp = links.expiry(NOW, HOUR, None)
    sig = links.sign(SECRET, "img_a", exp)
    links.verify(SECRET, "img_a", exp, sig, NOW + HOUR - timedelta(seconds=1))
    with pytest.raises(errors.PermissionDenied) as info:
        links.verify(SECRET, "img_a", exp, sig, NOW + HOUR)
    assert info.value.code == "url_expired"


@pytest.mark.parametrize("settings_overrides", [{"image_url_ttl": "10m"}])
async def test_over_http_links_follow_the_setting_deletion_and_content_expiry(
    client, auth, container, clock
):
    made = await client.post(
        "/v1/images/generations",
        json={"prompt": "a cat", "size": "256x256", "response_format": "url", "n": 2},
        headers=auth,
    )
    first, second = [d["url"] for d in made.json()["data"]]
    expires = int(first.split("expires=")[1].split("&")[0])
    assert expires == int((clock.now() + timedelta(minutes=10)).timestamp())
    assert (await client.get(first)).status_code == 200

    clock.advance(timedelta(minutes=10))
    stale = await client.get(first)
    assert stale.status_code == 403 and stale.json()["error"]["code"] == "url_expired"
    assert (await client.get(first, headers=auth)).status_code == 200, "the owner still can"

    # a fresh link from the job, then the generation deleted: the link dies at once
    job = (await client.get(f"/v1/jobs/{made.json()['id']}", headers=auth)).json()
    fresh = job["result"]["data"][1]["url"]
    assert fresh != second and (await client.get(fresh)).status_code == 200
    deleted = await client.delete(f"/v1/generations/{made.json()['id']}", headers=auth)
    assert deleted.status_code == 200
    assert (await client.get(fresh)).status_code == 404


async def test_a_link_never_outlives_the_content(client, auth, container, clock):
    container.settings.image_url_ttl = timedelta(days=7)
    made = await client.post(
        "/v1/images/generations",
        json={"prompt": "a cat", "size": "256x256", "response_format": "url"},
        headers=auth,
    )
    url = made.json()["data"][0]["url"]
    assert int(url.split("expires=")[1].split("&")[0]) == made.json()["expires_at"]
    clock.advance(container.settings.content_ttl - timedelta(seconds=1))
    assert (await client.get(url)).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert (await client.get(url)).json()["error"]["code"] == "url_expired"
    assert (await client.get(url, headers=auth)).status_code == 404, "the content is gone"

"""The signature scheme agrees with the ``standardwebhooks`` reference library."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from standardwebhooks import Webhook

from imagedesigner.webhooks import signing


def test_signature_matches_the_reference_library():
    raw = signing.new_secret()
    secret = signing.encode_secret(raw)
    assert secret.startswith("whsec_") and len(raw) == 32
    assert signing.decode_secret(secret) == raw
    body = b'{"type":"image.job.succeeded","data":{"id":"gen_1"}}'
    when = datetime(2026, 11, 28, 12, 0, 5, tzinfo=UTC)
    ours = signing.signature(raw, "msg_abc", int(when.timestamp()), body)
    assert ours == Webhook(secret).sign("msg_abc", when, body.decode())
    assert ours.startswith("v1,") and len(base64.b64decode(ours[3:])) == 32


def test_known_answer():
    """HMAC-SHA256 of ``msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}`` with the
    base64 key ``MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw``, as in the reference library's tests."""
    raw = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    headers = signing.headers(
        raw, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    )
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert headers["webhook-timestamp"] == "1614265330"

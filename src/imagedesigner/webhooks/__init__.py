"""Signed webhooks for finished jobs (Standard Webhooks): URL rules (``urls``), signatures
(``signing``), each account's signing secret (``secret``), and delivery with retries
(``delivery``), sent through a client that refuses private addresses (``transport``).

What the rest of the code calls:

- ``check_url(url, settings)``: at request time, the normalised URL or a 400 on ``webhook_url``;
- ``require_secret(session, user_id)``: a 400 when the account has no signing secret yet;
- ``enqueue(session, job, now, settings)``: in the transaction that makes a job final;
- ``Deliverer``: the sender (the job runner owns one and runs its loop).
"""

from imagedesigner.webhooks.delivery import Deliverer, delivery_for, enqueue
from imagedesigner.webhooks.secret import require as require_secret
from imagedesigner.webhooks.urls import check_url

__all__ = ["Deliverer", "check_url", "delivery_for", "enqueue", "require_secret"]

"""Factories to serve a fake by hand, e.g.::

    OPENAI_API_KEY=sk-test uvicorn --factory tests.providers.fakes.serve:openai --port 9001

then point ``IMAGEDESIGNER_OPENAI_BASE_URL`` at ``http://127.0.0.1:9001/v1``.
"""

from __future__ import annotations

import os

from . import fake_fal, fake_openai, fake_openrouter
from ._common import FakeState


def openai():
    return fake_openai.make_app(FakeState(), os.environ.get("OPENAI_API_KEY", "sk-test"))


def openrouter():
    return fake_openrouter.make_app(FakeState(), os.environ.get("OPENROUTER_API_KEY", "sk-or-test"))


def fal():
    return fake_fal.make_app(FakeState(), os.environ.get("FAL_KEY", "test:test"))

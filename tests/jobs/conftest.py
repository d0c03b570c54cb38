"""Fixtures for the job tests: ``live`` serves the app over real HTTP on loopback."""

from tests.api.test_openai_sdk import live  # noqa: F401

"""Import every table module so ``Base.metadata`` is complete (Alembic, the data map)."""

from imagedesigner.db import (  # noqa: F401
    models,
    models_jobs,
    models_logs,
    models_privacy,
    models_webhooks,
)

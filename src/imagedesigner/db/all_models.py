"""Import every table module so ``Base.metadata`` is complete (Alembic, the data map)."""

from imagedesigner.db import models, models_jobs, models_logs, models_privacy  # noqa: F401

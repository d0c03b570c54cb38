from alembic import context

from imagedesigner.db import all_models  # noqa: F401  (registers every table)
from imagedesigner.db.base import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()

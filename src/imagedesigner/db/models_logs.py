"""Tables for request logs and web sessions (privacy engine, part 1). See db/base.py for the
data map convention every column must follow."""

from __future__ import annotations

"""Tables for consents, rights requests, support tickets, legal holds and the audit log
(privacy engine, part 2). See db/base.py for the data map convention every column must follow."""

from __future__ import annotations

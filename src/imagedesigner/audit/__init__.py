"""The append-only staff audit trail (``audit_log``)."""

"""The load stage: the schema (one source of truth), migrations and the idempotent upsert."""

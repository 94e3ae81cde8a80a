"""Adapters: the HTTP edge (ASGI) and the stores (SQLite, PostgreSQL)."""

"""Stores: one SQL implementation of the service ports over SQLite or PostgreSQL."""

"""Use cases over ports: Kraken requests (authenticate, preferences, accounts) and admin operations."""

"""The HTTP edge: a plain ASGI application (no framework) so raw query strings and envelopes stay exact."""

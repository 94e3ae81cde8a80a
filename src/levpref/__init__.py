"""levpref: a wire-compatible Kraken Futures leverage-preferences server with a documented margin engine."""

__version__ = "0.1.0"

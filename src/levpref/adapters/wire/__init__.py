"""Wire types: what the admin API, the CLI and scenario files accept and answer, as strict msgspec Structs."""

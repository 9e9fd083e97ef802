"""The DuckDB catalog: schema and migrations, the single writer, the scoped merge, readers."""

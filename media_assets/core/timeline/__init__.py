"""timeline tier core (plain Python, no Dagster)."""

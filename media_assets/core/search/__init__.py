"""search tier core (plain Python, no Dagster)."""

"""embed tier core (plain Python, no Dagster)."""

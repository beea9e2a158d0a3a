"""vision tier core (plain Python, no Dagster)."""

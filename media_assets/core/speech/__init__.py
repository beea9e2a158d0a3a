"""speech tier core (plain Python, no Dagster)."""

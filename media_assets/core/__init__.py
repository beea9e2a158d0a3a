"""Dagster-free extraction core: plain functions over paths and arrays that return typed results."""

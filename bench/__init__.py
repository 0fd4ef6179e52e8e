"""Benchmarks (docs/benchmarks.md). Run from the repository root: python -m bench.seed_and_query."""

"""Benchmarks: `make bench` (timing notebooks and grading; not timed tests)."""

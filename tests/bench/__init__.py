"""Benchmarks, run by `nox -s bench`: measured figures, never pass/fail tests."""

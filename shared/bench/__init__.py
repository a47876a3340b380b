"""Benchmarks as commands (`loyalty bench ...`): timing lives here, never in tests."""

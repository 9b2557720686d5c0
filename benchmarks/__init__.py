"""Benchmarks: scripts that print numbers against a baseline on the same data."""

"""Benchmarks: scripts that print JSON (``python -m bench.<name> --json``); never run as tests."""

"""Threadline: a self-hosted digital-thread server."""

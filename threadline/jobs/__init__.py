"""Durable jobs (DESIGN.md "MES face": long actions)."""

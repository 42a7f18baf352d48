"""MES room: process (see threadline/mes/__init__.py)."""

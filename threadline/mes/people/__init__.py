"""MES room: people (see threadline/mes/__init__.py)."""

"""MES room: demand (see threadline/mes/__init__.py)."""

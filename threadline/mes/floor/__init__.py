"""MES room: floor (see threadline/mes/__init__.py)."""

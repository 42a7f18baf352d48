"""MES room: files (see threadline/mes/__init__.py)."""

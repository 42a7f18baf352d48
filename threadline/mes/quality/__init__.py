"""MES room: quality (see threadline/mes/__init__.py)."""

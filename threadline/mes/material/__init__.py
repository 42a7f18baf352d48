"""MES room: material (see threadline/mes/__init__.py)."""

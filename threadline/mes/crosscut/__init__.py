"""MES room: crosscut (see threadline/mes/__init__.py)."""

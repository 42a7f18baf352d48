"""MES room: shop (see threadline/mes/__init__.py)."""

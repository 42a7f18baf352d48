"""Faces: routers that speak another product's API over Threadline's services (translation only)."""

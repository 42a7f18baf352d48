"""Live events: the broker, the SSE endpoint and presence."""

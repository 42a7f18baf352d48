"""Production BOMs (production-bom-api.md): per-build requirements fed by jobs and serials."""

"""ORM models of the MES quality room."""

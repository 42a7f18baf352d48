"""ORM models of the MES floor room."""

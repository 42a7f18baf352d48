"""ORM models of the MES material room."""

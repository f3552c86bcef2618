"""novapool: a terminal ops console for PostgreSQL connection budgets."""

__version__ = "0.1.0"

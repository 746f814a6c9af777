"""The audit trail: append-only, tamper-evident events for every write and access decision."""

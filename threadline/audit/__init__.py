"""The audit/event log, written in the same transaction as each change."""

"""The engine: domain tables, storage, state machines, services and the audit trail."""

"""Pure domain model: stdlib only (checked by tests/test_architecture.py)."""

"""Use-cases on top of ports.py: checkout, payment, members, sync, shifts & reports, receipts."""

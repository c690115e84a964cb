"""Store mode (issue 13): several lanes share one PostgreSQL for members, points, catalogue and store reports.

Lanes keep their SQLite file as their own truth; a lane journal (SQLite, same transaction as each event)
is pushed to PostgreSQL idempotently by the uplink; reference data comes back by a snapshot-fenced pull;
one card worker per store sends card calls from the authoritative balance. See docs/store-mode.md.
This package talks to PostgreSQL (psycopg 3) and never imports the UI or the SQLite storage layer.
"""

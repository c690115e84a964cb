"""SQLite adapter: connect, migrations, unit of work, repositories, outbox, audit, report queries."""

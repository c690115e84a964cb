"""The shop's files in and out, independent of where they go.

``tables`` reads a .xlsx or .csv file into rows of text cells (flagging formulas, dates, merged
cells); ``catalogue`` and ``members`` turn rows into typed records plus a list of problems, and
write the same formats back. Nothing here touches a database: the terminal (SQLite, in
``pos_app.storage``) and the store server (PostgreSQL) apply the records themselves.
"""

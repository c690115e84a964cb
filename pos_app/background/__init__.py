"""Long-running background work in its own processes, supervised by the terminal (issue 18).

The till's GUI process does only the cashier's work. Python threads share one GIL, so a sync worker
or a report computed on a thread of the app process takes time from the GUI thread (measured in
tests/bench/bench_ui_load.py). Here each kind of background work runs in a child process:

- ``child``: the supervisor (start, restart with back-off when the child dies, stop) and the child's
  entry point; messages are pickled frames over the child's stdin/stdout pipes, read on a
  non-GUI thread of the terminal. A child whose stdin closes (the terminal died) exits.
- ``sync``: the outbox worker (``SyncSupervisor``); its status is pushed back every second.
- ``reports``: X reports computed in a child (``ProcessReports``), so the report screen never
  blocks the cashier.

No Qt here: the UI sees plain objects and callbacks that run on the supervisor's reader thread.
"""

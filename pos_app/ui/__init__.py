"""PySide6 user interface: windows, views, table models over snapshots, thin controllers, workers."""

__all__: list[str] = []

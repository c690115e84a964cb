"""Hardware drivers: scanners, cameras, printers; each opened by URL. Never imports pos_app."""

"""Command-line subcommands. Each module here exposes ``register(subparsers)``; __main__ loads them all."""

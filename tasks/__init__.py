"""Huey tasks: thin wrappers that call services. One module per domain."""

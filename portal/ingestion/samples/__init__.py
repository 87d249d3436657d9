"""Bordereaux made up for tests, benchmarks and the demo: Lloyd's-style files with planted bad rows."""

"""Benchmarks: `python -m bench NAME`. Each builds its data if missing, runs our code and its
peer in the same run, and prints one JSON line with the figures and the ratio."""

"""Benchmarks: `./rigbot-bench` (or `python -m bench [rules|knowledge]`)."""

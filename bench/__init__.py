"""Benchmarks: one command each, every figure printed next to a baseline measured in the same run.

Never part of the test suite. See bench/README.md.
"""

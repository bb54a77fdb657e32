"""Helpers of the isolation sweep (tests/test_isolation*.py)."""

"""The speed harness behind ``cx bench`` (not the CX league tables of :mod:`cx.analytics.benchmarks`).

Dev-only (it needs DuckDB) and left out of the wheel; only :mod:`cx.cli.bench` imports it.
"""

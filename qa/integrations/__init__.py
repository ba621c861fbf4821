"""Adapters that make qa's parts usable inside other frameworks (``llama_index``).

Each adapter module imports its framework; this package imports nothing heavy.
"""

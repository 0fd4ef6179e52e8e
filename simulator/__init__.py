"""The stand-in for the upstream case-handling system: it writes cases to the database
and workflow events to the Redis Stream, consistently, for demos, tests and benchmarks.
"""

"""View models: what each page and the wall show, built from the domain over the store
Protocols (never a database engine or a Redis client directly)."""

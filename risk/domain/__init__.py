"""Pure risk rules: no web framework, database, broker, clock or I/O."""

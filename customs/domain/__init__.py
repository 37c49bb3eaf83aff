"""Pure customs rules: no web framework, database, broker, clock or I/O."""

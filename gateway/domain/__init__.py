"""The gateway's rules of access, as plain functions (no I/O, no clock)."""

"""Risk: scores each declaration and routes it to release, review or inspection."""

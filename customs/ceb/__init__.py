"""The CEB message codec: safe parsing, the official XSDs, extraction and receipt rendering."""

"""Gateway: the one public edge for platforms, sellers and officers."""

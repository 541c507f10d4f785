"""The shelter directory: reading and checking the file, importing it into Redis, searching near a place."""

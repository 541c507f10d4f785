"""The durable, ordered message pipeline between channels and the runtime."""

"""The conversation engine: pure, a message and a state in, a new state and replies out (no Redis, no HTTP, no clock)."""

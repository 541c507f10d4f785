"""The runtime around the pure engine: state in Redis, risk, actions, one atomic commit a message."""

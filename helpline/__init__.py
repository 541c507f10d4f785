"""The composition root: the app factory, its wiring, metrics and the `helpline` command. The only package that sees both `bot` and `handoff`."""

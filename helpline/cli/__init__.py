"""The `helpline` command."""

"""Test helpers shipped with the package: a web chat that reads like a conversation, the scenario runner."""

"""Redis: key names, the Lua script runner, atomic commits, encryption of what is stored, the embedded server."""

"""The flows admins write in YAML: their schema, parsing with file:line locations, and checks."""

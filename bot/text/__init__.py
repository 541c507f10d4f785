"""Text helpers every layer shares: folding for keyword matching, SMS encodings and segments."""

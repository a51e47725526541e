"""Commerce admin: payments."""

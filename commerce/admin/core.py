"""Commerce admin: core."""

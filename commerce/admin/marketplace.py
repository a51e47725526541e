"""Commerce admin: marketplace."""

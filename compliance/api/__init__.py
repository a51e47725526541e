"""Compliance REST API, one module per area; ``compliance.urls`` includes each module's urls."""

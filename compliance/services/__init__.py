"""Compliance write services (one module per area)."""

"""Pre-trade screening, surveillance, fraud flags and review; plugs into orders.screening."""

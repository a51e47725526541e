"""Commerce admin: fulfilment."""

"""Venue adapters: how the OMS talks to a venue (send, cancel, replace) and hears back."""

"""Securities orders: instruments, accounts, venues, routing, executions, positions."""

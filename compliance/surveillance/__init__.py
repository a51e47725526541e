"""Post-trade surveillance: one module per detector, a registry and the incremental runner.

Each detector is set-based SQL over the trading tables (executions joined to their trade
orders and accounts), reading only what arrived since its cursor plus the look-back its pattern
needs; Python only groups the few matching rows into alert findings. The SQL runs on
PostgreSQL and on SQLite (the embedded default) through the small dialect layer in ``sql``.
"""

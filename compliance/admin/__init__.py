"""Compliance admin: importing each area's module registers its model admins."""

from compliance.admin import alerts, rules

__all__ = ["alerts", "rules"]

"""Addresses and warehouses are located by both coordinates or not at all.

A row stored earlier with one coordinate only (the admin forms used to accept it) is a place
routing cannot measure a distance to: both its coordinates are cleared first, so that the
check constraints can be added (the address or warehouse then reads as not located, which the
services already handle: an order cannot ship to it, a warehouse edit looks its city up again).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models


def half_located_cleared(apps: Any, schema_editor: Any) -> None:
    half = models.Q(latitude__isnull=True, longitude__isnull=False) | models.Q(
        latitude__isnull=False, longitude__isnull=True
    )
    for name in ("Address", "Warehouse"):
        model = apps.get_model("commerce", name)
        model._base_manager.filter(half).update(latitude=None, longitude=None)


def paired(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=models.Q(latitude__isnull=True, longitude__isnull=True)
        | models.Q(latitude__isnull=False, longitude__isnull=False),
        name=name,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0003_creation_time_unindexed"),
    ]

    operations = [
        migrations.RunPython(half_located_cleared, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="address", constraint=paired("address_coordinates_paired")
        ),
        migrations.AddConstraint(
            model_name="warehouse", constraint=paired("warehouse_coordinates_paired")
        ),
    ]

"""Fewer indexes and foreign-key checks to maintain for every invoice a capture issues (one per
imported marketplace order), as migrations 0002 and 0003 did for the other rows of an order.

- ``Invoice``: no index of the tenant column alone (``invoice_unique_number`` leads with it) nor
  of the creation time (never searched); the tenant's list, newest first, gets
  ``invoice_tenant_issued`` instead.
- ``InvoiceLine``: no index of the tenant column alone (``invoice_line_unique_no`` leads with it)
  nor of the creation time (read through its invoice only).
- On PostgreSQL, the invoice's single-column foreign keys ``tenant`` and ``sales_order`` are
  replaced by one composite key (tenant, sales order) referencing the sales order's
  (tenant, order) key (``sales_order_unique_tenant``), like migration 0002's: one check per row
  instead of two, and the invoice must belong to its order's tenant.
"""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

TABLE = "commerce_invoice"
COMPOSITE = "commerce_invoice_tenant_sales_order_fk"
REPLACED = {
    "tenant_id": ("tenancy_tenant", "id"),
    "sales_order_id": ("commerce_salesorder", "order_id"),
}


def forwards(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    qn = schema_editor.quote_name
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    for name, info in constraints.items():
        if info["foreign_key"] and len(info["columns"]) == 1 and info["columns"][0] in REPLACED:
            schema_editor.execute(f"ALTER TABLE {qn(TABLE)} DROP CONSTRAINT {qn(name)}")
    schema_editor.execute(
        f"ALTER TABLE {qn(TABLE)} ADD CONSTRAINT {qn(COMPOSITE)} "
        f"FOREIGN KEY ({qn('tenant_id')}, {qn('sales_order_id')}) "
        f"REFERENCES {qn('commerce_salesorder')} ({qn('tenant_id')}, {qn('order_id')}) "
        "DEFERRABLE INITIALLY DEFERRED"
    )


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    qn = schema_editor.quote_name
    schema_editor.execute(f"ALTER TABLE {qn(TABLE)} DROP CONSTRAINT {qn(COMPOSITE)}")
    for column, (to_table, to_column) in REPLACED.items():
        name = f"{TABLE}_{column}_fk_{to_table}_{to_column}"[:63]
        schema_editor.execute(
            f"ALTER TABLE {qn(TABLE)} ADD CONSTRAINT {qn(name)} "
            f"FOREIGN KEY ({qn(column)}) REFERENCES {qn(to_table)} ({qn(to_column)}) "
            "DEFERRABLE INITIALLY DEFERRED"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0004_coordinates_paired"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="invoice",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True),
        ),
        migrations.AlterField(
            model_name="invoice",
            name="tenant",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="tenancy.tenant",
            ),
        ),
        migrations.AlterField(
            model_name="invoiceline",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True),
        ),
        migrations.AlterField(
            model_name="invoiceline",
            name="tenant",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="tenancy.tenant",
            ),
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(
                fields=["tenant", "-issued_at", "-id"], name="invoice_tenant_issued"
            ),
        ),
        # After the tenant field's change above, which drops and adds its single key again.
        migrations.RunPython(forwards, backwards),
    ]

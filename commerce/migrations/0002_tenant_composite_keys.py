"""Composite (tenant, parent) foreign keys for the rows written with every sales order.

On PostgreSQL the single-column foreign keys of

- ``SalesOrder``: ``tenant`` and ``channel``,
- ``SalesOrderLine``: ``tenant`` and ``sales_order``,
- ``Payment``: ``tenant`` and ``sales_order``,
- ``PaymentOperation``: ``tenant`` and ``payment``,

are replaced by one composite foreign key each, (tenant, parent) referencing the parent's
(tenant, id), ``DEFERRABLE INITIALLY DEFERRED`` like Django's own. It enforces everything the
two single ones did (the parent exists; the tenant exists, as the parent's own tenant foreign key
holds) and more: the row and its parent belong to the same tenant. One check per row instead of
two (a marketplace import page writes a few of these rows per order). The parents' (tenant, id)
keys are unique constraints of the models (``channel_unique_tenant_id``,
``sales_order_unique_tenant``, ``payment_unique_tenant_id``), so every database has them.

Elsewhere (SQLite) the single-column foreign keys stay as they are.

Indexes these rows no longer need to maintain on every insert: the tenant column alone of
``SalesOrder``, ``SalesOrderLine``, ``Payment`` and ``PaymentOperation`` (each has a unique
constraint led by the tenant column, which serves the tenant's look-ups), and the text-pattern
(``LIKE``) indexes of ``SalesOrder.payment_status`` and ``fulfilment_status`` (filtered by
equality only; their plain indexes stay, as ``Meta.indexes``).
"""

from __future__ import annotations

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

# (table, its columns, referenced table, its columns, the single-column foreign keys replaced)
COMPOSITES = (
    (
        "commerce_salesorder",
        ("tenant_id", "channel_id"),
        "commerce_channel",
        ("tenant_id", "id"),
        ("tenant_id", "channel_id"),
    ),
    (
        "commerce_salesorderline",
        ("tenant_id", "sales_order_id"),
        "commerce_salesorder",
        ("tenant_id", "order_id"),
        ("tenant_id", "sales_order_id"),
    ),
    (
        "commerce_payment",
        ("tenant_id", "sales_order_id"),
        "commerce_salesorder",
        ("tenant_id", "order_id"),
        ("tenant_id", "sales_order_id"),
    ),
    (
        "commerce_paymentoperation",
        ("tenant_id", "payment_id"),
        "commerce_payment",
        ("tenant_id", "id"),
        ("tenant_id", "payment_id"),
    ),
)
# The referenced table and column of each replaced single-column key (for the way back).
SINGLE_TARGETS = {
    "tenant_id": ("tenancy_tenant", "id"),
    "channel_id": ("commerce_channel", "id"),
    "sales_order_id": ("commerce_salesorder", "order_id"),
    "payment_id": ("commerce_payment", "id"),
}


def _name(table: str, columns: tuple[str, ...]) -> str:
    return f"{table}_{'_'.join(c.removesuffix('_id') for c in columns)}_fk"[:63]


def _foreign_keys(schema_editor: Any, table: str) -> dict[str, Any]:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {name: info for name, info in constraints.items() if info["foreign_key"]}


def forwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    qn = schema_editor.quote_name
    for table, columns, target, target_columns, replaced in COMPOSITES:
        for name, info in _foreign_keys(schema_editor, table).items():
            if len(info["columns"]) == 1 and info["columns"][0] in replaced:
                schema_editor.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}")
        schema_editor.execute(
            f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(_name(table, columns))} "
            f"FOREIGN KEY ({', '.join(qn(c) for c in columns)}) "
            f"REFERENCES {qn(target)} ({', '.join(qn(c) for c in target_columns)}) "
            "DEFERRABLE INITIALLY DEFERRED"
        )


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    qn = schema_editor.quote_name
    for table, columns, _target, _target_columns, replaced in COMPOSITES:
        schema_editor.execute(
            f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(_name(table, columns))}"
        )
        for column in replaced:
            to_table, to_column = SINGLE_TARGETS[column]
            name = f"{table}_{column}_fk_{to_table}_{to_column}"[:63]
            schema_editor.execute(
                f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} "
                f"FOREIGN KEY ({qn(column)}) REFERENCES {qn(to_table)} ({qn(to_column)}) "
                "DEFERRABLE INITIALLY DEFERRED"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0001_initial"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="channel",
            constraint=models.UniqueConstraint(
                fields=("tenant", "id"), name="channel_unique_tenant_id"
            ),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.UniqueConstraint(
                fields=("tenant", "id"), name="payment_unique_tenant_id"
            ),
        ),
        migrations.AddConstraint(
            model_name="salesorder",
            constraint=models.UniqueConstraint(
                fields=("tenant", "order"), name="sales_order_unique_tenant"
            ),
        ),
        migrations.RunPython(forwards, backwards),
        # After the keys above, so that no single-column tenant foreign key is dropped and
        # created again on PostgreSQL: only the tenant index goes.
        *[
            migrations.AlterField(
                model_name=model_name,
                name="tenant",
                field=models.ForeignKey(
                    db_index=False,
                    on_delete=django.db.models.deletion.PROTECT,
                    related_name="+",
                    to="tenancy.tenant",
                ),
            )
            for model_name in ("payment", "paymentoperation", "salesorder", "salesorderline")
        ],
        migrations.AlterField(
            model_name="salesorder",
            name="fulfilment_status",
            field=models.CharField(
                choices=[
                    ("unfulfilled", "Unfulfilled"),
                    ("partially_fulfilled", "Partially fulfilled"),
                    ("fulfilled", "Fulfilled"),
                    ("delivered", "Delivered"),
                    ("partially_returned", "Partially returned"),
                    ("returned", "Returned"),
                ],
                default="unfulfilled",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="salesorder",
            name="payment_status",
            field=models.CharField(
                choices=[
                    ("unpaid", "Unpaid"),
                    ("authorized", "Authorized"),
                    ("partially_paid", "Partially paid"),
                    ("paid", "Paid"),
                    ("partially_refunded", "Partially refunded"),
                    ("refunded", "Refunded"),
                ],
                default="unpaid",
                max_length=20,
            ),
        ),
        migrations.AddIndex(
            model_name="salesorder",
            index=models.Index(fields=["payment_status"], name="sales_order_payment_status"),
        ),
        migrations.AddIndex(
            model_name="salesorder",
            index=models.Index(fields=["fulfilment_status"], name="sales_order_fulfilment_status"),
        ),
    ]

"""A demand history laid down as orders placed on given days with allocations (as routing
would leave them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from commerce.models import Allocation, AllocationStatus
from tests.commerce.factories import (
    ProductFactory,
    StockFactory,
    WarehouseFactory,
    sales_order_make,
)
from tests.commerce.fulfilment.helpers import allocate

D = Decimal
# Daily demand of P1 in A over the 8 days before "today": 0 0 3 0 5 0 0 4
INTERMITTENT = (0, 0, 3, 0, 5, 0, 0, 4)


def placed(
    tenant: Any,
    product: Any,
    warehouse: Any,
    day: date,
    quantity: str,
    *,
    hour: int = 12,
    status: str = AllocationStatus.ACTIVE,
) -> Any:
    """An order of ``quantity`` placed on ``day`` (UTC ``hour``) and allocated in ``warehouse``."""
    sales = sales_order_make(
        tenant=tenant,
        lines=[(product, quantity, "5.00")],
        placed_at=datetime.combine(day, time(hour), tzinfo=UTC),
    )
    if status == AllocationStatus.ACTIVE:
        allocate(sales, 1, warehouse, quantity)
    else:
        Allocation.objects.create(
            tenant=tenant,
            sales_order=sales,
            line=sales.lines.get(),
            warehouse=warehouse,
            quantity=D(quantity),
            status=status,
        )
    return sales


def history_make(tenant: Any, today: date) -> dict[str, Any]:
    """A (lead time 9) in warehouses A and B; B has no demand. A's P1: the intermittent history,
    plus demand outside the window (before it and today), plus a released allocation inside
    it (ignored). A/P1 ends with 35 on hand, 15 allocated: 20 available."""
    wh_a = WarehouseFactory(tenant=tenant, code="A")
    wh_b = WarehouseFactory(tenant=tenant, code="B")
    p1 = ProductFactory(tenant=tenant, sku="P1", lead_time_days=9)
    StockFactory(tenant=tenant, warehouse=wh_a, product=p1, on_hand=D("35"))
    StockFactory(tenant=tenant, warehouse=wh_b, product=p1, on_hand=D("4"))
    start = today - timedelta(days=len(INTERMITTENT))
    for offset, quantity in enumerate(INTERMITTENT):
        if quantity:
            placed(tenant, p1, wh_a, start + timedelta(days=offset), str(quantity))
    placed(tenant, p1, wh_a, start - timedelta(days=1), "1")  # before the window
    placed(tenant, p1, wh_a, today, "2")  # today: not a complete day
    placed(tenant, p1, wh_a, start + timedelta(days=1), "7", status=AllocationStatus.RELEASED)
    return {"wh_a": wh_a, "wh_b": wh_b, "p1": p1}

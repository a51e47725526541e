"""Sales order entry: the order's lines and totals (``commerce.services.entry`` has the rules).

A line names its product by SKU (a string; anything else is refused naming ``lines[i].sku``
before any query), and its unit price defaults to the product's list price in the order
currency. Amounts are never taken from the client: ``net = quantity x unit price`` (rounded
half-up to 4 places), ``total = net - discount + tax``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from commerce.models import Product, ProductPrice
from commerce.services.inputs import (
    MONEY_MAX,
    QTY_MAX,
    Errors,
    decimal_of,
    text_of,
    text_problem,
)
from tenancy.models import Tenant

ZERO = Decimal("0")
CENTS = Decimal("0.0001")
LINE_KEYS = {"sku", "quantity", "unit_price", "tax", "discount", "external_line_id"}
SKU_MAX = 64


@dataclass
class LineDraft:
    product: Product
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    tax: Decimal
    external_line_id: str

    @property
    def net(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(CENTS, rounding=ROUND_HALF_UP)

    @property
    def total(self) -> Decimal:
        return self.net - self.discount + self.tax


@dataclass
class OrderDraft:
    currency: str
    lines: list[LineDraft] = field(default_factory=list)
    ship: dict[str, Any] = field(default_factory=dict)
    shipping_total: Decimal = ZERO
    fx_rate: Decimal = Decimal("1")

    @property
    def subtotal(self) -> Decimal:
        return sum((line.net for line in self.lines), ZERO)

    @property
    def discount_total(self) -> Decimal:
        return sum((line.discount for line in self.lines), ZERO)

    @property
    def tax_total(self) -> Decimal:
        return sum((line.tax for line in self.lines), ZERO)

    @property
    def grand_total(self) -> Decimal:
        return self.subtotal - self.discount_total + self.tax_total + self.shipping_total


def amount_of(value: Any, *, field: str, errors: Errors, default: Decimal | None) -> Decimal | None:
    if value is None and default is not None:
        return default
    number = decimal_of(value, field=field, errors=errors, places=4, maximum=MONEY_MAX)
    if number is not None and number < 0:
        errors.add(field, "Must not be negative.")
        return None
    return number


def _catalogue_of(
    *, tenant: Tenant, lines: Sequence[Any], currency: str | None
) -> tuple[dict[str, Product], dict[int, Decimal]]:
    """The tenant's products named by the lines' SKUs (strings only: any other value is refused
    by the line's own check) and their list prices in ``currency`` (none for a bad currency)."""
    skus = {
        sku
        for line in lines
        if isinstance(line, Mapping)
        and isinstance(sku := line.get("sku"), str)
        and 0 < len(sku) <= SKU_MAX
        and text_problem(sku) is None
    }
    products = {p.sku: p for p in Product.objects.for_tenant(tenant).filter(sku__in=skus)}
    if currency is None or not products:
        return products, {}
    prices = {
        price.product_id: price.amount
        for price in ProductPrice.objects.for_tenant(tenant).filter(
            product__in=list(products.values()), currency=currency
        )
    }
    return products, prices


def _line_clean(
    line: Mapping[str, Any],
    *,
    prefix: str,
    products: Mapping[str, Product],
    prices: Mapping[int, Decimal],
    currency: str | None,
    errors: Errors,
) -> LineDraft | None:
    for key in line:
        if key not in LINE_KEYS:
            errors.add(f"{prefix}{key}", "Unknown field.")
    sku = text_of(line.get("sku"), field=f"{prefix}sku", errors=errors, max_length=SKU_MAX)
    product = products.get(sku)
    if sku and product is None and f"{prefix}sku" not in errors.errors:
        errors.add(f"{prefix}sku", f"Unknown SKU {sku}.")
    elif product is not None and not product.active:
        errors.add(f"{prefix}sku", f"Product {sku} is not active.")
    quantity = decimal_of(
        line.get("quantity"), field=f"{prefix}quantity", errors=errors, places=3, maximum=QTY_MAX
    )
    if quantity is not None and quantity <= 0:
        errors.add(f"{prefix}quantity", "Must be greater than zero.")
    unit_price: Decimal | None = None
    if line.get("unit_price") is not None:
        unit_price = amount_of(
            line.get("unit_price"), field=f"{prefix}unit_price", errors=errors, default=None
        )
    elif product is not None and currency is not None:
        unit_price = prices.get(product.pk)
        if unit_price is None:
            errors.add(f"{prefix}unit_price", f"Required: {sku} has no {currency} list price.")
    discount = amount_of(
        line.get("discount"), field=f"{prefix}discount", errors=errors, default=ZERO
    )
    tax = amount_of(line.get("tax"), field=f"{prefix}tax", errors=errors, default=ZERO)
    external = text_of(
        line.get("external_line_id"),
        field=f"{prefix}external_line_id",
        errors=errors,
        max_length=128,
        required=False,
    )
    if product is None or quantity is None or quantity <= 0 or unit_price is None:
        return None
    if discount is None or tax is None:
        return None
    draft = LineDraft(product, quantity, unit_price, discount, tax, external)
    if discount > draft.net:
        errors.add(f"{prefix}discount", "Must not exceed quantity x unit price.")
        return None
    return draft


def lines_clean(
    *, tenant: Tenant, lines: Any, currency: str | None, errors: Errors
) -> list[LineDraft]:
    """The order's lines; ``currency`` is ``None`` when the order's currency is invalid (its
    error is reported already, and no list price can be taken)."""
    if not isinstance(lines, Sequence) or isinstance(lines, str | bytes):
        errors.add("lines", "Must be a list of lines.")
        return []
    if not lines:
        errors.add("lines", "An order needs at least one line.")
        return []
    products, prices = _catalogue_of(tenant=tenant, lines=lines, currency=currency)
    drafts: list[LineDraft] = []
    for index, line in enumerate(lines):
        if not isinstance(line, Mapping):
            errors.add(f"lines[{index}]", "Must be an object.")
            continue
        draft = _line_clean(
            line,
            prefix=f"lines[{index}].",
            products=products,
            prices=prices,
            currency=currency,
            errors=errors,
        )
        if draft is not None:
            drafts.append(draft)
    return drafts

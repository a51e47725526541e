"""Pre-trade configuration and its records: rules, restricted and watch lists, locates, the kill
switch, overrides of held orders, screening results, and the reference data the short-sale
price test needs (previous closes and the days the restriction was triggered).

Every configuration change bumps the tenant's compliance version (``compliance.services.rules.
config_version_bump``), which the in-memory screening state checks once per screening.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from tenancy.models import TenantOwned
from tenancy.scoping import TenantManager


def _price(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=20, decimal_places=8, **kwargs)


def _qty(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=20, decimal_places=6, **kwargs)


class RuleKind(models.TextChoices):
    CREDIT_ACCOUNT = "credit_account", "Credit limit per account"
    CREDIT_TENANT = "credit_tenant", "Aggregate credit limit of the tenant"
    PRICE_COLLAR = "price_collar", "Price collar vs reference price"
    MAX_QUANTITY = "max_quantity", "Maximum quantity"
    MAX_NOTIONAL = "max_notional", "Maximum notional"
    ADV_PERCENT = "adv_percent", "Percent of average daily volume"
    THROTTLE = "throttle", "Message throttle (orders per account per interval)"
    DUPLICATE = "duplicate", "Duplicate order"
    RESTRICTED_LIST = "restricted_list", "Restricted list"
    WATCH_LIST = "watch_list", "Watch list"
    SHORT_LOCATE = "short_locate", "Short sale: locate required"
    SHORT_PRICE_TEST = "short_price_test", "Short-sale price test"
    SELF_MATCH = "self_match", "Self-match prevention"
    ISSUER_CONCENTRATION = "issuer_concentration", "Issuer concentration (% of account value)"
    DIVERSIFICATION = "diversification", "5/10/40 diversification"
    SECTOR_LIMIT = "sector_limit", "Sector limit (% of account value)"
    AVAILABLE_CASH = "available_cash", "Available cash for buys"
    FRAUD_VELOCITY = "fraud_velocity", "Fraud: order velocity"
    FRAUD_COUNTRY_MISMATCH = "fraud_country_mismatch", "Fraud: billing/shipping/IP country"
    FRAUD_HIGH_VALUE_FIRST = "fraud_high_value_first", "Fraud: high-value first order"
    FRAUD_SCORE = "fraud_score", "Fraud: score threshold (hold above)"


FRAUD_KINDS = frozenset(
    {
        RuleKind.FRAUD_VELOCITY,
        RuleKind.FRAUD_COUNTRY_MISMATCH,
        RuleKind.FRAUD_HIGH_VALUE_FIRST,
        RuleKind.FRAUD_SCORE,
    }
)
BANDED_KINDS = frozenset({RuleKind.ISSUER_CONCENTRATION})


class RuleScope(models.TextChoices):
    TENANT = "tenant", "Whole tenant"
    ACCOUNT = "account", "One account"
    INSTRUMENT = "instrument", "One instrument"
    TRADER = "trader", "One trader (the order's creator)"


class RuleSeverity(models.TextChoices):
    WARN = "warn", "Warn (accept + alert)"
    SOFT = "soft", "Soft (hold for approval)"
    HARD = "hard", "Hard (reject)"


class Rule(TenantOwned):
    """One configured pre-trade (or fraud) check. ``params`` are validated per kind
    (``compliance.services.rules.rule_params_clean``); banded kinds take their severities
    from ``params`` (``warn``/``soft``/``hard`` percentages) instead of ``severity``."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=32, choices=RuleKind.choices)
    params = models.JSONField(default=dict, encoder=DjangoJSONEncoder, blank=True)
    scope = models.CharField(max_length=12, choices=RuleScope.choices, default=RuleScope.TENANT)
    account = models.ForeignKey(
        "trading.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    instrument = models.ForeignKey(
        "trading.Instrument", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    trader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    severity = models.CharField(
        max_length=4, choices=RuleSeverity.choices, default=RuleSeverity.HARD
    )
    active = models.BooleanField(default=True)

    objects: ClassVar[TenantManager[Rule]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("kind", "name", "id")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="compliance_rule_unique_name"),
            models.CheckConstraint(
                condition=(
                    Q(scope="tenant", account__isnull=True, instrument__isnull=True)
                    & Q(trader__isnull=True)
                )
                | Q(scope="account", account__isnull=False, instrument__isnull=True)
                & Q(trader__isnull=True)
                | Q(scope="instrument", account__isnull=True, instrument__isnull=False)
                & Q(trader__isnull=True)
                | Q(scope="trader", account__isnull=True, instrument__isnull=True)
                & Q(trader__isnull=False),
                name="compliance_rule_scope_target",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from compliance.services.rules import rule_errors

        errors = rule_errors(
            kind=self.kind,
            params=self.params,
            scope=self.scope,
            account=self.account_id,
            instrument=self.instrument_id,
            trader=self.trader_id,
        )
        if errors:
            raise ValidationError(errors)


class RestrictedListEntry(TenantOwned):
    """An instrument, or an issuer (covering every instrument of that issuer), that may not be
    traded: orders are rejected (hard)."""

    instrument = models.ForeignKey(
        "trading.Instrument", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issuer = models.CharField(max_length=200, blank=True, default="")
    reason = models.CharField(max_length=500)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    active = models.BooleanField(default=True)

    objects: ClassVar[TenantManager[RestrictedListEntry]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name_plural = "restricted list entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(instrument__isnull=False, issuer="")
                | Q(instrument__isnull=True) & ~Q(issuer=""),
                name="restricted_instrument_or_issuer",
            ),
        ]

    def __str__(self) -> str:
        return self.issuer or str(self.instrument_id)


class WatchListEntry(TenantOwned):
    """An instrument or issuer under watch: orders are accepted and raise an alert."""

    instrument = models.ForeignKey(
        "trading.Instrument", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issuer = models.CharField(max_length=200, blank=True, default="")
    reason = models.CharField(max_length=500)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    active = models.BooleanField(default=True)

    objects: ClassVar[TenantManager[WatchListEntry]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name_plural = "watch list entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(instrument__isnull=False, issuer="")
                | Q(instrument__isnull=True) & ~Q(issuer=""),
                name="watch_instrument_or_issuer",
            ),
        ]

    def __str__(self) -> str:
        return self.issuer or str(self.instrument_id)


class Locate(TenantOwned):
    """Borrow located for a short sale: valid on ``date`` (tenant time zone) only."""

    account = models.ForeignKey("trading.Account", on_delete=models.PROTECT, related_name="+")
    instrument = models.ForeignKey("trading.Instrument", on_delete=models.PROTECT, related_name="+")
    quantity = _qty()
    date = models.DateField()
    source = models.CharField(max_length=200, blank=True, default="")

    objects: ClassVar[TenantManager[Locate]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("-date", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "account", "instrument", "date"], name="locate_unique_day"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="locate_qty_gt0"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.instrument_id} {self.quantity} on {self.date}"


class InstrumentClose(TenantOwned):
    """The official close of an instrument on a trading day: the short-sale price test's
    "previous close" is the latest close before today (tenant time zone)."""

    instrument = models.ForeignKey("trading.Instrument", on_delete=models.PROTECT, related_name="+")
    trade_date = models.DateField()
    close_price = _price()

    objects: ClassVar[TenantManager[InstrumentClose]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("-trade_date", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "instrument", "trade_date"], name="instrument_close_unique"
            ),
            models.CheckConstraint(condition=Q(close_price__gt=0), name="instrument_close_gt0"),
        ]


class ShortSaleTrigger(TenantOwned):
    """The day the price fell by the trigger percentage from the previous close: short sales at
    or below the best bid are refused on that day and the next trading day."""

    instrument = models.ForeignKey("trading.Instrument", on_delete=models.PROTECT, related_name="+")
    triggered_on = models.DateField()
    previous_close = _price()
    trigger_price = _price()

    objects: ClassVar[TenantManager[ShortSaleTrigger]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("-triggered_on", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "instrument", "triggered_on"], name="short_trigger_unique"
            ),
        ]


class KillSwitchScope(models.TextChoices):
    TENANT = "tenant", "Whole tenant"
    ACCOUNT = "account", "One account"
    TRADER = "trader", "One trader"


class KillSwitch(TenantOwned):
    """An engaged switch rejects every new order in scope (and its engagement cancelled the open
    ones) until a compliance officer releases it with a reason. Rows are kept as history."""

    scope = models.CharField(max_length=8, choices=KillSwitchScope.choices)
    account = models.ForeignKey(
        "trading.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    trader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    engaged = models.BooleanField(default=True)
    engaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500)
    canceled_orders = models.JSONField(default=list, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.CharField(max_length=500, blank=True, default="")

    objects: ClassVar[TenantManager[KillSwitch]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name_plural = "kill switches"
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="tenant", account__isnull=True, trader__isnull=True)
                | Q(scope="account", account__isnull=False, trader__isnull=True)
                | Q(scope="trader", account__isnull=True, trader__isnull=False),
                name="kill_switch_scope_target",
            ),
        ]

    def __str__(self) -> str:
        state = "engaged" if self.engaged else "released"
        return f"{self.scope} kill switch ({state})"


class OverrideStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    REFUSED = "refused", "Refused"
    EXPIRED = "expired", "Expired"


class Override(TenantOwned):
    """A four-eyes release of one held order: requested (with a justification), then approved or
    refused by a compliance officer who did not create the order. Valid for that order only,
    until ``expires_at`` (end of the day it was requested, tenant time zone)."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    justification = models.CharField(max_length=2000)
    status = models.CharField(
        max_length=10, choices=OverrideStatus.choices, default=OverrideStatus.REQUESTED
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=2000, blank=True, default="")
    expires_at = models.DateTimeField()

    objects: ClassVar[TenantManager[Override]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"override of {self.order_id} ({self.status})"


class ScreeningOutcome(models.TextChoices):
    PASS = "pass", "Pass"
    BREACH = "breach", "Breach"


class ScreeningResult(TenantOwned):
    """One rule's outcome for one screening of one order, with the values it compared."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    rule = models.ForeignKey(
        Rule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule_name = models.CharField(max_length=100)
    kind = models.CharField(max_length=32)
    outcome = models.CharField(max_length=6, choices=ScreeningOutcome.choices)
    severity = models.CharField(max_length=4, blank=True, default="")
    values = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    message = models.CharField(max_length=500, blank=True, default="")
    updated_at = None  # type: ignore[assignment]

    objects: ClassVar[TenantManager[ScreeningResult]] = TenantManager()  # type: ignore[assignment]

    class Meta:
        ordering = ("id",)
        indexes = [models.Index(fields=["tenant", "order"], name="screening_result_order")]

    def __str__(self) -> str:
        return f"{self.rule_name}: {self.outcome}"

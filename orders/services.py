"""Writes on the common order: creation (idempotent), submission + screening, transitions,
journal. Domain apps (trading, commerce) build on these inside their own transactions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm

from oms_site.errors import (
    ApplicationError,
    IdempotencyConflict,
    NotFound,
    PermissionDenied,
    StaleState,
    TransitionNotAllowed,
    ValidationFailed,
)
from oms_site.rows import instances_insert
from orders.kinds import kind_after, kind_after_many, kind_policy, kinds_expiring_generically
from orders.models import (
    REFERENCE_PREFIX,
    TRANSITION_EVENTS,
    EventKind,
    Order,
    OrderEvent,
    OrderKind,
    OrderSequence,
    OrderStatus,
)
from orders.permissions import ENTRY_ROLES
from orders.screening import Decision, Outcome, screening_run, screening_run_many
from orders.selectors import order_find_by_client_id, orders_for_update
from tenancy.models import Tenant
from tenancy.selectors import user_has_role

Actor = Any  # a User, or None for the system


def actor_name(actor: Actor) -> str:
    """How the journal and the logs name an actor (``system`` for none)."""
    return str(actor.get_username()) if actor is not None else "system"


def _event(
    *,
    order: Order,
    kind: str,
    actor: Actor,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    data: Mapping[str, Any] | None = None,
) -> OrderEvent:
    """An unsaved journal row of ``order`` (same tenant as the order, by construction)."""
    event = journal_row(
        order_id=order.pk,
        tenant_id=order.tenant_id,
        kind=kind,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        data=data or {},
    )
    event.order = order
    return event


def journal_row(
    *,
    order_id: int,
    tenant_id: int,
    kind: str,
    actor: Actor,
    data: Mapping[str, Any],
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
) -> OrderEvent:
    """An unsaved journal row of the order ``order_id`` (set-based writers insert many)."""
    return OrderEvent(
        tenant_id=tenant_id,
        order_id=order_id,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        actor_name=actor_name(actor),
        reason=(reason or "")[:500],
        data=dict(data),
    )


def event_record(
    *,
    order: Order,
    kind: str,
    actor: Actor,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    data: Mapping[str, Any] | None = None,
) -> OrderEvent:
    """Append one journal row for a significant action that is not a transition."""
    event = _event(
        order=order,
        kind=kind,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        data=data,
    )
    event.save(force_insert=True)
    return event


def reference_next(*, tenant: Tenant, kind: str) -> str:
    """Next gapless reference for (tenant, kind), e.g. ``T-000123``.

    The counter row is incremented inside the caller's transaction: a rollback returns the
    number, and concurrent creators queue on the row lock, so references have no gaps.
    """
    return references_reserve(tenant=tenant, kind=kind, count=1)[0]


def references_reserve(*, tenant: Tenant, kind: str, count: int) -> list[str]:
    """``count`` consecutive gapless references in one counter update (set-based entry)."""
    last = _sequence_increment(tenant_id=tenant.pk, kind=kind, by=count)
    if last is None:
        OrderSequence.objects.bulk_create(
            [OrderSequence(tenant=tenant, kind=kind, last_value=0)], ignore_conflicts=True
        )
        last = _sequence_increment(tenant_id=tenant.pk, kind=kind, by=count)
    assert last is not None
    prefix = REFERENCE_PREFIX[OrderKind(kind)]
    return [f"{prefix}-{value:06d}" for value in range(last - count + 1, last + 1)]


def _sequence_increment(*, tenant_id: int, kind: str, by: int = 1) -> int | None:
    # One round trip: UPDATE ... RETURNING (PostgreSQL, SQLite >= 3.35); the ORM has no
    # UPDATE RETURNING. The tenant id is passed explicitly.
    table = connection.ops.quote_name(OrderSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_value = last_value + %s "  # table name only; values bound
            "WHERE tenant_id = %s AND kind = %s RETURNING last_value",
            [by, tenant_id, kind],
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def canonical_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-normal form used to compare a resubmission with the original."""
    result: dict[str, Any] = json.loads(json.dumps(dict(payload), cls=DjangoJSONEncoder))
    return result


def _idempotent_replay(order: Order, payload: dict[str, Any]) -> Order:
    original = order.submission
    differing = sorted(
        key for key in set(original) | set(payload) if original.get(key) != payload.get(key)
    )
    if differing:
        raise IdempotencyConflict(
            errors={
                key: ["Differs from the original submission with this client_order_id."]
                for key in differing
            },
            extra={"order_id": order.pk, "reference": order.reference},
        )
    return order


@dataclass(frozen=True)
class OrderCreated:
    order: Order
    created: bool


def order_create(
    *,
    tenant: Tenant,
    actor: Actor,
    kind: str,
    client_order_id: str,
    payload: Mapping[str, Any],
    note: str = "",
    expires_at: datetime | None = None,
    submit: bool = True,
    detail_create: Callable[[Order], None] | None = None,
) -> OrderCreated:
    """Create an order (idempotent by ``client_order_id``) and, by default, submit it.

    The same ``client_order_id`` with the same payload returns the existing order
    (``created=False``); with a different payload, :class:`IdempotencyConflict` names the
    differing fields. Concurrent duplicates are resolved by the unique constraint, not by a
    check-then-insert: the loser's insert fails and it replays the winner's order.
    ``detail_create`` lets a domain app add its one-to-one detail row in the same transaction.
    """
    if kind not in OrderKind.values:
        raise ValidationFailed(errors={"kind": [f"Unknown order kind {kind!r}."]})
    if actor is not None and not user_has_role(
        user=actor, tenant_id=tenant.pk, roles=ENTRY_ROLES[kind]
    ):
        raise PermissionDenied(f"Your role may not enter {kind} orders.")
    if not tenant.active:
        raise PermissionDenied("This tenant is inactive.")
    canonical = canonical_payload(payload)
    try:
        with transaction.atomic():
            order = Order(
                tenant=tenant,
                kind=kind,
                client_order_id=client_order_id,
                reference=reference_next(tenant=tenant, kind=kind),
                note=note,
                expires_at=expires_at,
                submission=canonical,
                created_by=actor,
            )
            order.save(force_insert=True)
            # Checked once the insert succeeded: a replay of an order whose expiry has since
            # passed still answers with the stored order (the IntegrityError path below).
            if expires_at is not None and expires_at <= timezone.now():
                raise ValidationFailed(errors={"expires_at": ["Must be in the future."]})
            created = _event(
                order=order,
                kind=EventKind.CREATED,
                actor=actor,
                to_status=order.status,
                data={"reference": order.reference, "client_order_id": client_order_id},
            )
            if detail_create is not None:
                detail_create(order)
            if submit:
                _submit_and_screen(order=order, actor=actor, journal=[created])
                kind_after(order, "submit")
            else:
                created.save(force_insert=True)
    except IntegrityError:
        # The constraint, not a pre-check, decides: a duplicate (even a concurrent one) is
        # answered from the stored order.
        existing = order_find_by_client_id(
            tenant=tenant, kind=kind, client_order_id=client_order_id
        )
        if existing is None:
            raise
        return OrderCreated(_idempotent_replay(existing, canonical), created=False)
    return OrderCreated(order, created=True)


@dataclass(frozen=True)
class NewOrder:
    """One order of a set-based entry (see :func:`orders_create_many`)."""

    client_order_id: str
    payload: Mapping[str, Any]
    note: str = ""
    expires_at: datetime | None = None


EntryResult = OrderCreated | ApplicationError


def orders_create_many(
    *,
    tenant: Tenant,
    actor: Actor,
    kind: str,
    entries: Sequence[NewOrder],
    details_create: Callable[[list[tuple[int, Order]]], None],
) -> list[EntryResult]:
    """Enter many orders at once with the semantics of :func:`order_create`, set-based.

    One result per entry, in order: ``OrderCreated`` (``created=False`` for a replay of a
    stored order or of an earlier entry of the same batch) or the ``ApplicationError`` that the
    single entry would have raised. The new orders take consecutive references from one
    counter update, are inserted with one statement (``oms_site.rows.instances_insert``: a
    ``COPY`` on PostgreSQL), their details with another (``details_create`` gets ``(entry
    index, order)`` pairs), are screened in order, in memory (each screen sees the whole batch
    inserted; a screen with a set-based entry point is called once for the batch), then get
    their statuses in one UPDATE per outcome and their journal in one more statement;
    ``after_many`` hooks run once for the batch.
    If a concurrent writer takes one of the client order ids meanwhile, the unique constraint
    refuses the insert, the batch's writes roll back and each entry goes through
    :func:`order_create` on its own, where the constraint decides it alone.
    """
    if kind not in OrderKind.values:
        raise ValidationFailed(errors={"kind": [f"Unknown order kind {kind!r}."]})
    if actor is not None and not user_has_role(
        user=actor, tenant_id=tenant.pk, roles=ENTRY_ROLES[kind]
    ):
        raise PermissionDenied(f"Your role may not enter {kind} orders.")
    if not tenant.active:
        raise PermissionDenied("This tenant is inactive.")
    results: list[EntryResult | None] = [None] * len(entries)
    canonical = [canonical_payload(entry.payload) for entry in entries]
    stored = {
        order.client_order_id: order
        for order in Order.objects.for_tenant(tenant).filter(
            kind=kind, client_order_id__in={entry.client_order_id for entry in entries}
        )
    }
    first_of: dict[str, int] = {}
    fresh: list[int] = []
    now = timezone.now()
    for index, entry in enumerate(entries):
        cid = entry.client_order_id
        if cid in stored:
            results[index] = _replay_result(stored[cid], canonical[index])
        elif cid in first_of:
            continue  # answered from the batch's first entry with this id, below
        elif entry.expires_at is not None and entry.expires_at <= now:
            results[index] = ValidationFailed(errors={"expires_at": ["Must be in the future."]})
        else:
            first_of[cid] = index
            fresh.append(index)
    try:
        with transaction.atomic():
            created = _insert_screened(
                tenant=tenant,
                actor=actor,
                kind=kind,
                entries=[(i, entries[i], canonical[i]) for i in fresh],
                details_create=details_create,
            )
    except IntegrityError:
        created = {}
        for index in fresh:
            entry = entries[index]
            try:
                created[index] = order_create(
                    tenant=tenant,
                    actor=actor,
                    kind=kind,
                    client_order_id=entry.client_order_id,
                    payload=entry.payload,
                    note=entry.note,
                    expires_at=entry.expires_at,
                    detail_create=_one_detail(details_create, index),
                )
            except ApplicationError as exc:
                results[index] = exc
    for index, result in created.items():
        results[index] = result
    for index, entry in enumerate(entries):
        if results[index] is None:  # a repeat, inside the batch, of an earlier entry
            first = results[first_of[entry.client_order_id]]
            results[index] = (
                _replay_result(first.order, canonical[index])
                if isinstance(first, OrderCreated)
                else first
            )
    return [result for result in results if result is not None]


def _one_detail(
    details_create: Callable[[list[tuple[int, Order]]], None], index: int
) -> Callable[[Order], None]:
    def create(order: Order) -> None:
        details_create([(index, order)])

    return create


def _replay_result(order: Order, payload: dict[str, Any]) -> EntryResult:
    try:
        return OrderCreated(_idempotent_replay(order, payload), created=False)
    except ApplicationError as exc:
        return exc


def _insert_screened(
    *,
    tenant: Tenant,
    actor: Actor,
    kind: str,
    entries: list[tuple[int, NewOrder, dict[str, Any]]],
    details_create: Callable[[list[tuple[int, Order]]], None],
) -> dict[int, OrderCreated]:
    if not entries:
        return {}
    references = references_reserve(tenant=tenant, kind=kind, count=len(entries))
    orders = [
        Order(
            tenant=tenant,
            kind=kind,
            client_order_id=entry.client_order_id,
            reference=reference,
            note=entry.note,
            expires_at=entry.expires_at,
            submission=payload,
            created_by=actor,
        )
        for (_, entry, payload), reference in zip(entries, references, strict=True)
    ]
    instances_insert(Order, orders)
    pairs = [(index, order) for (index, _, _), order in zip(entries, orders, strict=True)]
    details_create(pairs)
    per_order = [
        _submit_in_memory(
            order=order,
            actor=actor,
            journal=[
                _event(
                    order=order,
                    kind=EventKind.CREATED,
                    actor=actor,
                    to_status=order.status,
                    data={"reference": order.reference, "client_order_id": order.client_order_id},
                )
            ],
        )
        for order in orders
    ]
    # Screened in order, each seeing the ones before it (a set-based screen holds the
    # tenant's state once for all of them).
    decisions = screening_run_many(orders, kind)
    by_outcome: dict[tuple[str, str], list[int]] = {}
    for order, events, decision in zip(orders, per_order, decisions, strict=True):
        events.extend(_outcome_in_memory(order=order, decision=decision))
        by_outcome.setdefault((order.status, order.status_reason), []).append(order.pk)
    now = timezone.now()
    for (status, reason), ids in by_outcome.items():
        Order.objects.for_tenant(tenant).filter(pk__in=ids).update(
            status=status, status_reason=reason, updated_at=now
        )
    for order in orders:
        order.updated_at = now
    instances_insert(OrderEvent, [event for events in per_order for event in events])
    kind_after_many(kind, orders, "submit")
    return {index: OrderCreated(order, created=True) for index, order in pairs}


def _persist(*, order: Order, from_status: str, journal: list[OrderEvent]) -> None:
    """Write the new status only if the row still has the status we read (optimistic guard),
    then the journal rows in one INSERT."""
    order.updated_at = timezone.now()
    updated = (
        Order.objects.for_tenant(order.tenant_id)
        .filter(pk=order.pk, status=from_status)
        .update(status=order.status, status_reason=order.status_reason, updated_at=order.updated_at)
    )
    if updated != 1:
        raise StaleState(extra={"order_id": order.pk})
    OrderEvent.objects.bulk_create(journal)


def _run_transition(
    *,
    order: Order,
    transition: str,
    actor: Actor,
    reason: str,
    data: Mapping[str, Any] | None,
    check_permission: bool,
) -> OrderEvent:
    """Check and apply one transition in memory; returns its (unsaved) journal row."""
    if transition not in TRANSITION_EVENTS:
        raise TransitionNotAllowed(f"Unknown transition {transition!r}.")
    method = getattr(order, transition)
    from_status = order.status
    if not can_proceed(method, check_conditions=False):
        raise TransitionNotAllowed(
            f"Cannot {transition} an order that is {from_status}.",
            extra={"status": from_status},
        )
    if not can_proceed(method):
        raise TransitionNotAllowed(
            f"Cannot {transition} this order now (tenant inactive).", extra={"status": from_status}
        )
    if check_permission and (actor is None or not has_transition_perm(method, actor)):
        raise PermissionDenied(f"Your role may not {transition} this order.")
    method(reason=reason)
    return _event(
        order=order,
        kind=TRANSITION_EVENTS[transition],
        actor=actor,
        from_status=from_status,
        to_status=order.status,
        reason=reason,
        data=data,
    )


def order_apply_transition(
    *,
    order: Order,
    transition: str,
    actor: Actor,
    reason: str = "",
    data: Mapping[str, Any] | None = None,
    check_permission: bool = True,
) -> Order:
    """Run one FSM transition on an order the caller has locked, persist it and journal it.

    Refusals: unknown transition or wrong state / failed condition -> 409; the actor's role in
    the order's tenant does not allow it -> 403. ``check_permission=False`` is for system steps
    taken by services (screening outcome, fills, expiry), never for a person's request.
    """
    from_status = order.status
    event = _run_transition(
        order=order,
        transition=transition,
        actor=actor,
        reason=reason,
        data=data,
        check_permission=check_permission,
    )
    _persist(order=order, from_status=from_status, journal=[event])
    return order


def order_lock(*, tenant: Tenant | int, order_id: int) -> Order:
    order = orders_for_update(tenant=tenant).filter(pk=order_id).first()
    if order is None:
        raise NotFound("Order not found.")
    return order


@transaction.atomic
def order_transition(
    *, tenant: Tenant, order_id: int, transition: str, actor: Actor, reason: str = ""
) -> Order:
    """A person's transition request (API, admin): lock, check role and state, apply, journal.

    A domain may carry out some requests itself (``orders.kinds``): a trade order's cancel is
    sent to its venue and completes when the venue confirms.
    """
    order = order_lock(tenant=tenant, order_id=order_id)
    handler = kind_policy(order.kind).request_handlers.get(transition)
    if handler is not None:
        return handler(tenant=tenant, order=order, actor=actor, reason=reason)
    if transition == "submit":
        _submit_and_screen(order=order, actor=actor, reason=reason)
    else:
        order_apply_transition(order=order, transition=transition, actor=actor, reason=reason)
    kind_after(order, transition)
    return order


def orders_cancel_each(
    *, orders: Iterable[Order], actor: Actor, reason: str
) -> tuple[int, list[str]]:
    """Request a cancel of each order (each in its own transaction, through the kind's
    handler); returns how many went through and "REF (why)" for each refusal."""
    done, refused = 0, []
    for order in orders:
        try:
            order_transition(
                tenant=order.tenant,
                order_id=order.pk,
                transition="cancel",
                actor=actor,
                reason=reason,
            )
            done += 1
        except ApplicationError as exc:
            refused.append(f"{order.reference} ({exc.message})")
    return done, refused


def _submit_and_screen(
    *, order: Order, actor: Actor, reason: str = "", journal: list[OrderEvent] | None = None
) -> Order:
    """draft -> pending -> screening -> open | held | rejected, persisted as one status write
    and one journal INSERT (submitted, screened, outcome) after any ``journal`` rows given."""
    from_status = order.status
    events = _screen_in_memory(order=order, actor=actor, reason=reason, journal=journal)
    _persist(order=order, from_status=from_status, journal=events)
    return order


def _screen_in_memory(
    *, order: Order, actor: Actor, reason: str = "", journal: list[OrderEvent] | None = None
) -> list[OrderEvent]:
    """Submit and screen ``order`` in memory; returns its journal rows (nothing written)."""
    events = _submit_in_memory(order=order, actor=actor, reason=reason, journal=journal)
    events.extend(_outcome_in_memory(order=order, decision=screening_run(order)))
    return events


def _submit_in_memory(
    *, order: Order, actor: Actor, reason: str = "", journal: list[OrderEvent] | None = None
) -> list[OrderEvent]:
    """draft -> pending in memory; returns ``journal`` (if given) + the submitted row."""
    events = list(journal or [])
    events.append(
        _run_transition(
            order=order,
            transition="submit",
            actor=actor,
            reason=reason,
            data=None,
            check_permission=actor is not None,
        )
    )
    return events


def _outcome_in_memory(*, order: Order, decision: Decision) -> list[OrderEvent]:
    """Journal a submitted order's screening ``decision`` and apply its outcome in memory:
    the screened row, then the outcome's transition (none when the order's kind acknowledges
    it later, e.g. a venue's New: it stays pending)."""
    events = [
        _event(
            order=order,
            kind=EventKind.SCREENED,
            actor=None,
            from_status=order.status,
            to_status=order.status,
            reason=decision.summary(),
            data=decision.as_dict(),
        )
    ]
    next_step = {Outcome.REJECT: "reject", Outcome.HOLD: "hold", Outcome.ACCEPT: "accept"}[
        decision.outcome
    ]
    if next_step == "accept" and not kind_policy(order.kind).accept_on_pass:
        return events
    events.append(
        _run_transition(
            order=order,
            transition=next_step,
            actor=None,
            reason=decision.summary(),
            data={"screening": str(decision.outcome)},
            check_permission=False,
        )
    )
    return events


def orders_expire_due(*, tenant_id: int, now: datetime | None = None) -> list[int]:
    """Expire the tenant's live orders whose ``expires_at`` has passed. Safe to run twice."""
    now = now or timezone.now()
    due = list(
        Order.objects.for_tenant(tenant_id)
        .filter(
            status__in=[OrderStatus.OPEN, OrderStatus.PARTIAL],
            expires_at__lte=now,
            kind__in=kinds_expiring_generically(list(OrderKind.values)),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    expired: list[int] = []
    for order_id in due:
        with transaction.atomic():
            order = order_lock(tenant=tenant_id, order_id=order_id)
            if order.status not in (OrderStatus.OPEN, OrderStatus.PARTIAL):
                continue
            order_apply_transition(
                order=order,
                transition="expire",
                actor=None,
                check_permission=False,
                reason="Expiry time reached.",
                data={"expires_at": order.expires_at},
            )
            expired.append(order_id)
    return expired

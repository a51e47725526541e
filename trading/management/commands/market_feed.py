"""Stream market data: replay a CSV of quotes, or a random walk around the current quotes.

    manage.py market_feed --tenant acme-capital --csv quotes.csv [--interval 0.5]
    manage.py market_feed --all-tenants --interval 2 [--count 100] [--seed 7]

CSV columns: venue, symbol, bid, bid_size, ask, ask_size, last (a header row is required).
The whole file is validated before anything is sent: a bad row stops the command with the line
number and the field, and nothing is ingested.
"""

from __future__ import annotations

import csv
import random
import time
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenancy.models import Tenant
from trading.api.orders import QuoteSerializer
from trading.models import Quote
from trading.services.marketdata import QuoteInput, quotes_ingest

COLUMNS = ["venue", "symbol", "bid", "bid_size", "ask", "ask_size", "last"]


class Command(BaseCommand):
    help = "Stream quotes into the simulated venues (CSV replay or random walk)."

    def add_arguments(self, parser: CommandParser) -> None:
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--tenant", help="Tenant slug.")
        who.add_argument("--all-tenants", action="store_true", help="Every tenant with quotes.")
        parser.add_argument("--csv", type=Path, help="Replay this CSV (needs --tenant).")
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between batches.")
        parser.add_argument("--count", type=int, default=0, help="Batches to send (0 = forever).")
        parser.add_argument("--seed", type=int, default=None, help="Random walk seed.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["csv"] is not None:
            if not options["tenant"]:
                raise CommandError("--csv needs --tenant.")
            tenant = self._tenant(options["tenant"])
            quotes = self._read_csv(tenant, options["csv"])
            for quote in quotes:
                quotes_ingest(tenant=tenant, quotes=[quote])
                time.sleep(max(options["interval"], 0))
            self.stdout.write(f"Replayed {len(quotes)} quotes.")
            return
        tenants = (
            [self._tenant(options["tenant"])]
            if options["tenant"]
            else list(Tenant.objects.filter(active=True).order_by("pk"))
        )
        walk = random.Random(options["seed"])
        sent = 0
        while options["count"] == 0 or sent < options["count"]:
            for tenant in tenants:
                quotes = self._walk(tenant, walk)
                if quotes:
                    quotes_ingest(tenant=tenant, quotes=quotes)
            sent += 1
            if options["count"] == 0 or sent < options["count"]:
                time.sleep(max(options["interval"], 0))
        self.stdout.write(f"Sent {sent} batches.")

    def _tenant(self, slug: str) -> Tenant:
        tenant = Tenant.objects.filter(slug=slug, active=True).first()
        if tenant is None:
            raise CommandError(f"No active tenant {slug!r}.")
        return tenant

    def _read_csv(self, tenant: Tenant, path: Path) -> list[QuoteInput]:
        try:
            text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's BOM is not data
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from exc
        reader = csv.DictReader(text.splitlines())
        if reader.fieldnames is None or [f.strip() for f in reader.fieldnames] != COLUMNS:
            raise CommandError(f"{path}: the header must be {','.join(COLUMNS)}.")
        quotes: list[QuoteInput] = []
        for row in reader:
            line = reader.line_num
            if None in row or None in row.values():
                raise CommandError(f"{path}, line {line}: expected {len(COLUMNS)} fields.")
            data: dict[str, Any] = {k.strip(): v.strip() for k, v in row.items()}
            for name in ("bid", "ask", "last"):
                if data[name] == "":
                    data[name] = None
            serializer = QuoteSerializer(data=data, context={"tenant": tenant})
            if not serializer.is_valid():
                field, messages = next(iter(serializer.errors.items()))
                raise CommandError(f"{path}, line {line}: {field}: {messages[0]}")
            quotes.append(QuoteSerializer.to_quote(serializer.validated_data))
        return quotes

    def _walk(self, tenant: Tenant, walk: random.Random) -> list[QuoteInput]:
        quotes = []
        # In a stable order: the same seed walks each quote the same way on every database.
        rows = Quote.objects.for_tenant(tenant).select_related("venue", "instrument").order_by("pk")
        for q in rows:
            tick = q.instrument.tick_size
            anchor = q.last or q.ask or q.bid
            if anchor is None:
                continue
            anchor = (anchor / tick).to_integral_value(rounding=ROUND_HALF_EVEN) * tick
            last = max(tick, anchor + tick * walk.randint(-3, 3))
            spread = tick * walk.randint(1, 3)
            bid = max(tick, last - spread)
            quant = Decimal(tick)
            quotes.append(
                QuoteInput(
                    venue=q.venue,
                    instrument=q.instrument,
                    bid=bid.quantize(quant, rounding=ROUND_HALF_EVEN),
                    bid_size=q.instrument.lot_size * walk.randint(1, 50) * 10,
                    ask=(last + spread).quantize(quant, rounding=ROUND_HALF_EVEN),
                    ask_size=q.instrument.lot_size * walk.randint(1, 50) * 10,
                    last=last.quantize(quant, rounding=ROUND_HALF_EVEN),
                )
            )
        return quotes

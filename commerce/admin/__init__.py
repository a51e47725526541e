"""Commerce admin: one module per area, each registering its own models."""

from commerce.admin import core, fulfilment, marketplace, payments, stock  # noqa: F401

"""Commerce Celery tasks: thin and idempotent; each takes ids and calls one service.

Routing by name (oms_site/celery.py): ``route_*`` -> ``routing`` queue, ``channel_*`` ->
``marketplace`` queue, the rest -> ``default``. Services are imported inside each task so that
this module stays a thin index of entry points.
"""

from __future__ import annotations

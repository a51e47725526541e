import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.conftest import client_for, member
from tests.factories import order_in_status

@pytest.mark.django_db
def test_probe(tenant):
    admin = member(tenant, "admin", username="a")
    api = client_for(admin)
    for i in range(10):
        order_in_status(tenant=tenant, status="open")
    api.get("/api/v1/orders/")
    with CaptureQueriesContext(connection) as ctx:
        r = api.get("/api/v1/orders/")
    print(len(ctx.captured_queries))
    for q in ctx.captured_queries: print(q["sql"][:150])

"""Fuzz every operation of the schema against the app in-process: whatever a client sends, the API
answers with a 2xx or a 4xx, never a server error."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.apiclient import populate, token_for

# Reading the schema touches no database, so it can be loaded while tests are collected.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture
def same_connection():
    """Keep the test's database connection across requests, as Django's test client does: the WSGI
    handler would otherwise close it after each response, and the test's transaction with it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_key(desk, other_desk, same_connection) -> str:
    populate(desk)
    populate(other_desk)  # ids of another workspace exist, so guessed ids may hit them
    return token_for(desk.admin)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_request_makes_the_api_fail(case, admin_key):
    response = case.call(headers={"Authorization": f"Bearer {admin_key}"})
    case.validate_response(response, checks=[not_a_server_error])

"""Outside finding 4, the sign-in half: the limit was per account only, so anyone could lock a real
admin out, and one address could guess across many accounts. Now failures count per (account,
address) pair and per address: a stranger locks only themselves out, and one address cannot spray."""

from datetime import timedelta

import pytest
from django.test import Client

from touchpoint.core.clock import now

ATTACKER = "203.0.113.9"
OFFICE = "198.51.100.7"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.LOGIN_LOCKOUT_FAILURES = 3
    settings.LOGIN_LOCKOUT_ADDRESS_FAILURES = 6
    settings.LOGIN_LOCKOUT_WINDOW_S = 600


def sign_in(email: str, password: str, address: str, **headers):
    client = Client(REMOTE_ADDR=address, headers=headers)
    return client.post("/login/", {"email": email, "password": password})


def test_a_stranger_cannot_lock_a_real_user_out(desk):
    for _ in range(3):
        sign_in("admin@acme.test", "guess", ATTACKER)
    locked = sign_in("admin@acme.test", "admin-pass-1", ATTACKER)
    assert locked.status_code == 429  # from the attacker's address, even the right password is refused
    assert "locked for 10 minutes" in locked.content.decode()
    # The admin, from her own address, signs in as always.
    assert sign_in("admin@acme.test", "admin-pass-1", OFFICE).status_code == 302


def test_one_address_cannot_guess_across_many_accounts(desk, other_desk):
    accounts = ["admin@acme.test", "ana@acme.test", "ben@acme.test", "sup@acme.test", "admin@globex.test"]
    for email in accounts:  # one guess each: no account comes near its own limit
        assert sign_in(email, "Winter2026!", ATTACKER).status_code == 401
    for email in ("ana@globex.test", "ben@globex.test", "sup@globex.test"):  # the sixth guess uses up the address
        refused = sign_in(email, "Winter2026!", ATTACKER)
        assert refused.status_code == 429
        assert "locked for 10 minutes" in refused.content.decode()
    assert sign_in("ben@globex.test", "agent-pass-2", OFFICE).status_code == 302


def test_a_forwarded_for_header_does_not_buy_a_new_address(desk):
    for i in range(6):
        sign_in(f"nobody{i}@acme.test", "guess", ATTACKER, x_forwarded_for=f"10.0.0.{i}", x_real_ip=f"10.1.0.{i}")
    assert sign_in("ana@acme.test", "guess", ATTACKER, x_forwarded_for="10.9.9.9").status_code == 429


def test_signing_in_to_ones_own_account_does_not_reset_the_address(desk):
    """An attacker with a real login of their own cannot wipe their guesses by signing in between them."""
    for email in ("admin@acme.test", "sup@acme.test", "ben@acme.test", "admin@acme.test", "sup@acme.test"):
        sign_in(email, "guess", ATTACKER)
    assert sign_in("ana@acme.test", "agent-pass-1", ATTACKER).status_code == 302
    assert sign_in("ben@acme.test", "guess", ATTACKER).status_code == 429


def test_a_successful_sign_in_clears_that_accounts_failures_from_that_address(desk):
    for _ in range(2):
        sign_in("ana@acme.test", "typo", OFFICE)
    assert sign_in("ana@acme.test", "agent-pass-1", OFFICE).status_code == 302
    for _ in range(2):
        assert sign_in("ana@acme.test", "typo", OFFICE).status_code == 401  # counting starts again


def test_a_lock_ends_when_the_window_has_passed(desk):
    from axes.models import AccessAttempt

    for _ in range(3):
        sign_in("ana@acme.test", "guess", ATTACKER)
    assert sign_in("ana@acme.test", "agent-pass-1", ATTACKER).status_code == 429
    AccessAttempt.objects.update(attempt_time=now() - timedelta(seconds=601))
    assert sign_in("ana@acme.test", "agent-pass-1", ATTACKER).status_code == 302


def test_the_locked_page_is_the_login_page_with_the_reason(desk):
    for _ in range(3):
        sign_in("ana@acme.test", "guess", ATTACKER)
    response = sign_in("ana@acme.test", "guess", ATTACKER)
    assert response.status_code == 429
    html = response.content.decode()
    assert 'id="login-email"' in html and 'value="ana@acme.test"' in html and 'role="alert"' in html

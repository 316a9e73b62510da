"""Sign-in limits, kept by django-axes in the database (so every process shares them).

Failures count within LOGIN_LOCKOUT_WINDOW_S, twice over:
- per account and address (LOGIN_LOCKOUT_FAILURES): a stranger guessing at someone's password locks
  only that pair; the account's owner, from anywhere else, signs in as always;
- per address (LOGIN_LOCKOUT_ADDRESS_FAILURES, larger, as an office shares one): one address cannot
  guess across many accounts.

Axes compares one count with one limit; `LoginLimits.get_failures` reports the pair's count, or the
limit itself once the address has used up its own allowance.

The address is the connection's, never a header the caller writes: X-Forwarded-For counts only from
one of our own proxies (core.net, settings.TRUSTED_PROXIES), as for every other limit."""

from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest

from touchpoint.core.net import request_address


def lockout_parameters(request: HttpRequest, credentials: dict | None) -> list:
    """What failures are counted by: first the pair, then the address (the order get_failures reads)."""
    return [["username", "ip_address"], "ip_address"]


def failure_limit(request: HttpRequest, credentials: dict | None) -> int:
    return settings.LOGIN_LOCKOUT_FAILURES


def window(request: HttpRequest | None = None) -> timedelta:
    return timedelta(seconds=settings.LOGIN_LOCKOUT_WINDOW_S)


def client_address(request: HttpRequest) -> str | None:
    return request_address(request) or None


class LoginLimits(AxesDatabaseHandler):
    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        pair, address = (attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
                         for attempts in self.get_user_attempts(request, credentials))
        if address >= settings.LOGIN_LOCKOUT_ADDRESS_FAILURES:
            return max(pair, failure_limit(request, credentials))
        return pair

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """A successful sign-in clears that account's failures from that address, and only those: an
        attacker signing in to a login of their own must not wipe the address's guesses at others."""
        pair, _ = self.filter_user_attempts(request, credentials)
        deleted, _ = pair.delete()
        return deleted

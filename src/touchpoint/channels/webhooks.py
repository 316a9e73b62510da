"""The edge shared by providers' webhooks (Twilio, telephony systems): they sign their requests
instead of sending a CSRF token, they only POST, and every refusal reads as problem+json."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from touchpoint.channels.models import ChannelAccount
from touchpoint.core.api import MAX_ID, problem
from touchpoint.core.errors import DomainError, NotFound


class BadSignature(DomainError):
    status = 403
    code = "bad_signature"


def webhook(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            response = problem(405, "method_not_allowed", f"{request.method} is not allowed here; providers POST to it.")
            response["Allow"] = "POST"
            return response
        try:
            return view(request, *args, **kwargs)
        except DomainError as error:
            return problem(error.status, error.code, error.message, field=error.field)

    return wrapped


def channel_account(account_id: int, kinds: tuple[str, ...]) -> ChannelAccount:
    """The active account a webhook URL names. Any workspace's: the signature, checked next, proves the caller."""
    account = None
    if account_id <= MAX_ID:
        account = ChannelAccount.objects.filter(pk=account_id, kind__in=kinds, is_active=True).first()
    if account is None:
        raise NotFound(f"No active {' or '.join(kinds)} account has id {account_id}; check the webhook URL.")
    return account


def public_url(request: HttpRequest) -> str:
    """The URL the provider called, as it signed it: behind a proxy, PUBLIC_BASE_URL says the public address."""
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL + request.get_full_path()
    return request.build_absolute_uri()

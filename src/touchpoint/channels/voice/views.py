"""The call-event webhook telephony systems post to."""

import hashlib
import hmac
import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from pydantic import ValidationError

from touchpoint.channels.models import ChannelAccount
from touchpoint.channels.voice.schemas import CallEventIn
from touchpoint.channels.voice.services import record_call_event
from touchpoint.channels.webhooks import BadSignature, channel_account, webhook
from touchpoint.conversations.models import Channel
from touchpoint.core.api import problem
from touchpoint.core.errors import DomainError, NotFound

MAX_BODY_BYTES = 64 * 1024  # one event is a few hundred bytes
SIGNATURE_HEADER = "X-Touchpoint-Signature"


class MalformedJSON(DomainError):
    status = 400
    code = "malformed_json"


@webhook
def call_events(request: HttpRequest, account_id: int) -> HttpResponse:
    """200 with the call as it stands; `recorded` is false when this exact event was already stored."""
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return problem(413, "too_large", f"Send one event per request (at most {MAX_BODY_BYTES // 1024} KB).")
    account = _signed_account(request, account_id, body)
    try:
        report = CallEventIn.model_validate(_json_object(body))
    except ValidationError as error:
        return _invalid(error)
    call, recorded = record_call_event(account=account, report=report)
    return JsonResponse({"call_id": call.external_id, "conversation_id": call.conversation_id, "state": call.state,
                         "recorded": recorded})


def sign(secret: str, body: bytes) -> str:
    """The X-Touchpoint-Signature value: sha256= and the hex HMAC-SHA256 of the raw body, keyed with the account's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _signed_account(request: HttpRequest, account_id: int, body: bytes) -> ChannelAccount:
    given = request.headers.get(SIGNATURE_HEADER, "")
    if not given:
        raise BadSignature(f"Sign each request: {SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of the body, keyed with "
                           "the voice account's secret>.")
    try:
        account = channel_account(account_id, (Channel.VOICE,))
    except NotFound:
        account = None
    # A key that does not open this account answers like an unknown id, so that nobody can learn
    # which account ids exist in other workspaces.
    if account is None or not hmac.compare_digest(sign(account.secret, body), given.strip().lower()):
        raise NotFound(f"No voice account {account_id} accepts this signature; check the account id in the URL "
                       "and the signing key.")
    return account


def _json_object(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedJSON(f"The body is not valid JSON ({error}). Send one JSON object per event.") from None
    if not isinstance(data, dict):
        raise MalformedJSON("Send one JSON object per event, e.g. {\"call_id\": ..., \"event\": \"offered\", ...}.")
    return data


def _invalid(error: ValidationError) -> HttpResponse:
    errors = [{"field": ".".join(str(p) for p in e["loc"]), "code": e["type"],
               "message": e["msg"].removeprefix("Value error, ")} for e in error.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, "validation_failed", f"The event has invalid values. {detail}.",
                   field=errors[0]["field"] if len(errors) == 1 else None, errors=errors)

"""The provider inbound webhook: a mail service (or a relay script) POSTs the raw MIME of each mail.

POST /channels/email/<account id>/inbound, body = the mail as received (message/rfc822), header
X-Touchpoint-Signature: sha256=<hex HMAC-SHA256 of the body keyed with the account's secret>.
Optional: the envelope recipient in X-Touchpoint-Recipient (it may carry a reply token) and the
envelope sender in X-Touchpoint-Envelope-From. A refusal stores nothing; 503 asks to retry later.
"""

import hashlib
import hmac

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from touchpoint.channels.email.inbound import TRANSIENT_ERRORS, ingest_mime
from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Channel

SIGNATURE_HEADER = "X-Touchpoint-Signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _problem(status: int, code: str, detail: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"type": "about:blank", "status": status, "code": code, "detail": detail},
                            status=status, content_type="application/problem+json")
    for name, value in headers.items():
        response[name] = value
    return response


@csrf_exempt
@require_POST
def inbound(request: HttpRequest, account_id: int) -> JsonResponse:
    account = ChannelAccount.objects.filter(pk=account_id, kind=Channel.EMAIL, is_active=True).first()
    if account is None:
        return _problem(404, "not_found", "No active email account with this id; check the webhook URL.")
    limit = settings.EMAIL_MAX_MESSAGE_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _problem(413, "too_large", f"The mail is over the {limit // 1048576} MB limit.")
    body = request.read(limit + 1)  # request.body would stop at the upload limit meant for forms
    given = request.headers.get(SIGNATURE_HEADER, "")
    if not given or not hmac.compare_digest(given.strip().lower(), signature(account.secret, body)):
        return _problem(403, "bad_signature",
                        f"{SIGNATURE_HEADER} must be sha256=<hex HMAC-SHA256 of the body with the account's secret>.")
    if len(body) > limit:
        return _problem(413, "too_large", f"The mail is over the {limit // 1048576} MB limit.")
    if not body.strip():
        return _problem(422, "empty", "The body must be the raw mail (message/rfc822); it was empty.")
    recipient = request.headers.get("X-Touchpoint-Recipient") or account.address
    try:
        result = ingest_mime(body, recipient, account, envelope_sender=request.headers.get("X-Touchpoint-Envelope-From"))
    except TRANSIENT_ERRORS:
        return _problem(503, "busy", "The mail could not be stored right now; send it again later.", **{"Retry-After": "30"})
    return JsonResponse({"outcome": result.outcome, "reason": result.reason,
                         "message_id": result.message.pk if result.message else None,
                         "conversation_id": result.conversation_id})

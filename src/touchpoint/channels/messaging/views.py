"""Twilio's webhooks for a number: incoming messages and delivery status callbacks."""

from django.http import HttpRequest, HttpResponse

from touchpoint.channels.messaging.adapter import PHONE_CHANNELS
from touchpoint.channels.messaging.services import receive_twilio_message, record_twilio_status
from touchpoint.channels.messaging.twilio import is_signed
from touchpoint.channels.models import ChannelAccount
from touchpoint.channels.webhooks import BadSignature, channel_account, public_url, webhook

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@webhook
def incoming_message(request: HttpRequest, account_id: int) -> HttpResponse:
    """Answers empty TwiML: the reply, if any, comes later from an agent through the REST API."""
    receive_twilio_message(account=_signed_account(request, account_id), params=request.POST)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@webhook
def message_status(request: HttpRequest, account_id: int) -> HttpResponse:
    record_twilio_status(account=_signed_account(request, account_id), params=request.POST)
    return HttpResponse(status=204)


def _signed_account(request: HttpRequest, account_id: int) -> ChannelAccount:
    account = channel_account(account_id, PHONE_CHANNELS)
    given = request.headers.get("X-Twilio-Signature", "")
    if not given:
        raise BadSignature("The request has no X-Twilio-Signature header; only Twilio's signed webhooks are accepted.")
    params = [(name, value) for name, values in request.POST.lists() for value in values]
    if not is_signed(account.secret, public_url(request), params, given):
        raise BadSignature("X-Twilio-Signature does not match. Check that this account's secret is the number's "
                           "Twilio auth token, and that PUBLIC_BASE_URL is the address Twilio calls.")
    return account

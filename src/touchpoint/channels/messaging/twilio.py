"""Twilio's wire format, written from its published specification: the X-Twilio-Signature check on
webhooks and the Messages REST call. No vendor SDK at run time; the tests check both against it."""

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode, urlsplit, urlunsplit
from urllib.request import Request, urlopen

from django.conf import settings

from touchpoint.channels.adapters import PermanentDeliveryError, TransientDeliveryError
from touchpoint.channels.models import ChannelAccount

WHATSAPP_PREFIX = "whatsapp:"
_DEFAULT_PORTS = {"https": 443, "http": 80}


# ---- webhook signatures ----------------------------------------------------------------------


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Base64 of HMAC-SHA1, keyed with the auth token, over the full URL followed by every POST
    parameter as name + value, sorted by name (and by value where a name repeats)."""
    payload = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def is_signed(auth_token: str, url: str, params: Iterable[tuple[str, str]], given: str) -> bool:
    """Whether `given` signs this request. Twilio may or may not have counted the default port in the
    URL it signed, so both spellings are tried, as its own libraries do."""
    if not given or not auth_token:
        return False
    params = list(params)
    return any(hmac.compare_digest(signature(auth_token, candidate, params), given) for candidate in _port_spellings(url))


def _port_spellings(url: str) -> list[str]:
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    if default is None or parts.port not in (None, default):
        return [url]
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets
    return [url, urlunsplit(parts._replace(netloc=host)), urlunsplit(parts._replace(netloc=f"{host}:{default}"))]


# ---- the Messages REST call ------------------------------------------------------------------


@dataclass(frozen=True)
class TwilioProvider:
    """Sends a text through POST /2010-04-01/Accounts/{AccountSid}/Messages.json and returns the
    message SID, which later status callbacks name."""

    def send_text(self, *, account: ChannelAccount, to: str, body: str, status_callback: str = "") -> str:
        account_sid = str(account.config.get("account_sid", "")).strip()
        if not account_sid:
            raise PermanentDeliveryError(f"The {account.kind} account {account.name!r} has no Twilio account SID; "
                                         "set config.account_sid (it starts with AC).")
        fields = {"To": address(account.kind, to), "From": address(account.kind, account.address), "Body": body}
        if status_callback:
            fields["StatusCallback"] = status_callback
        credentials = base64.b64encode(f"{account_sid}:{account.secret}".encode()).decode()
        request = Request(
            f"{api_base(account)}/2010-04-01/Accounts/{quote(account_sid, safe='')}/Messages.json",
            data=urlencode(fields).encode(), method="POST",
            headers={"Authorization": f"Basic {credentials}", "Accept": "application/json",
                     "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "Touchpoint"},
        )
        try:
            with urlopen(request, timeout=settings.TWILIO_TIMEOUT_S) as response:
                answer = json.load(response)
        except HTTPError as error:
            raise _refusal(error) from None
        except (URLError, TimeoutError, ConnectionError) as error:
            raise TransientDeliveryError(f"Twilio is unreachable: {getattr(error, 'reason', error)}") from None
        except ValueError:
            raise TransientDeliveryError("Twilio answered with something that is not JSON.") from None
        sid = answer.get("sid") if isinstance(answer, dict) else None
        if not sid:
            raise TransientDeliveryError("Twilio's answer has no message sid.")
        return str(sid)


def api_base(account: ChannelAccount) -> str:
    """Twilio's API, or a Twilio-format service on this machine named by the account
    (config["api_base"], e.g. the demo's local outbox). Only a loopback address is honoured: the
    account's auth token goes with every call, so it never leaves for anywhere but Twilio or here."""
    own = str(account.config.get("api_base") or "").rstrip("/")
    parts = urlsplit(own)
    if parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "::1", "localhost") and not parts.path:
        return own
    return settings.TWILIO_API_BASE


def _refusal(error: HTTPError) -> Exception:
    """429 and 5xx may pass if we try later; any other 4xx will not (bad number, wrong credentials)."""
    try:
        body = json.loads(error.read() or b"{}")
    except ValueError:
        body = {}
    detail = body.get("message") if isinstance(body, dict) else None
    code = body.get("code") if isinstance(body, dict) else None
    text = f"Twilio answered {error.code}" + (f" (error {code})" if code else "") + (f": {detail}" if detail else "")
    if error.code == 429 or error.code >= 500:
        return TransientDeliveryError(text)
    return PermanentDeliveryError(text)


def address(kind: str, number: str) -> str:
    """How Twilio names a number on a channel: WhatsApp numbers carry a "whatsapp:" prefix."""
    number = number.removeprefix(WHATSAPP_PREFIX)
    return f"{WHATSAPP_PREFIX}{number}" if kind == "whatsapp" else number


# ---- delivery statuses -----------------------------------------------------------------------

# Twilio's MessageStatus → our delivery status. Statuses before "sent" say nothing new: a message
# is "sent" from our side as soon as Twilio returned its SID.
DELIVERY_STATUS = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}

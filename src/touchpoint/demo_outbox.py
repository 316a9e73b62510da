"""The demo store's outgoing channels: while `touchpoint serve` runs, the demo workspace's email,
SMS and WhatsApp replies go to a local outbox in the same process (channels.outbox), so replying in
the demo works, shows sent and delivered, and reaches no real inbox or phone."""

import logging

from django.conf import settings

from touchpoint.channels.outbox import LocalOutbox, start_local_outbox
from touchpoint.demo import DEMO_DOMAIN, demo_workspace

log = logging.getLogger(__name__)
SMS_NUMBER = "+442079460100"  # London numbers set aside for drama: they belong to nobody
WHATSAPP_NUMBER = "+442079460101"


def start_demo_outbox(*, host: str, port: int) -> LocalOutbox | None:
    """None when the demo is not loaded. Twilio-format status reports need the address this server
    answers on: without PUBLIC_BASE_URL, it is taken to be this process's own."""
    workspace = demo_workspace()
    if workspace is None:
        return None
    if not settings.PUBLIC_BASE_URL:
        local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        settings.PUBLIC_BASE_URL = f"http://{local}:{port}"
    return start_local_outbox(workspace_id=workspace.pk, email_address=f"support@{DEMO_DOMAIN}",
                              sms_number=SMS_NUMBER, whatsapp_number=WHATSAPP_NUMBER)

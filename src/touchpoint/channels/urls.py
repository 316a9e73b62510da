"""Webhooks providers call. Each names a channel account by id and proves itself with the account's secret."""

from django.urls import path

from touchpoint.channels.messaging import views as messaging
from touchpoint.channels.voice import views as voice

app_name = "channels"

urlpatterns = [
    path("twilio/<int:account_id>/messages", messaging.incoming_message, name="twilio-messages"),
    path("twilio/<int:account_id>/status", messaging.message_status, name="twilio-status"),
    path("voice/<int:account_id>/events", voice.call_events, name="voice-events"),
]

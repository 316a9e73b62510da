from django.urls import path

from touchpoint.channels.webchat.consumers import WidgetConsumer
from touchpoint.realtime.consumers import AgentConsumer

websocket_urlpatterns = [
    path("ws/agent/", AgentConsumer.as_asgi()),
]

# Public sockets: any website may embed the widget, so no same-origin check and no session cookie;
# the widget's key (and its allowed origins, when set) decide.
public_websocket_urlpatterns = [
    path("widget/v1/ws", WidgetConsumer.as_asgi()),
]

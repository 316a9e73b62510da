from django.urls import include, path

from touchpoint.api import api
from touchpoint.channels.webchat.views import demo_store

urlpatterns = [
    path("api/v1/", api.urls),
    path("channels/email/", include("touchpoint.channels.email.urls")),
    path("channels/", include("touchpoint.channels.urls")),
    path("widget/v1/", include("touchpoint.channels.webchat.urls")),
    path("demo-store/", demo_store, name="demo-store"),
    path("help/", include("touchpoint.knowledge.urls")),
    path("", include("touchpoint.web.urls")),
]

from django.urls import include, path

from touchpoint.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("channels/email/", include("touchpoint.channels.email.urls")),
    path("channels/", include("touchpoint.channels.urls")),
    path("", include("touchpoint.web.urls")),
]

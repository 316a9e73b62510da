from django.urls import include, path

from touchpoint.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("touchpoint.web.urls")),
]

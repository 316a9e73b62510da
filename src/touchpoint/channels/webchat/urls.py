"""/widget/v1/: the public surface of the chat widget (the socket is /widget/v1/ws, in realtime.routing)."""

from django.urls import path

from touchpoint.channels.webchat import views

urlpatterns = [
    path("uploads", views.upload, name="widget-upload"),
    path("offline", views.offline, name="widget-offline"),
    path("files/<str:ticket>/", views.download, name="widget-file"),
    path("<str:key>.js", views.script, name="widget-script"),
    path("<str:key>/config", views.config, name="widget-config"),
]

from django.urls import path

from touchpoint.channels.email import views

urlpatterns = [path("<int:account_id>/inbound", views.inbound, name="email-inbound")]

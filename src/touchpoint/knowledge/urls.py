"""The public help center, mounted at /help/."""

from django.urls import path

from touchpoint.knowledge import views

urlpatterns = [
    path("<slug:workspace_slug>/", views.help_root, name="help-root"),
    path("<slug:workspace_slug>/<str:locale>/", views.help_home, name="help-home"),
    path("<slug:workspace_slug>/<str:locale>/search/", views.help_search, name="help-search"),
    path("<slug:workspace_slug>/<str:locale>/categories/<str:slug>/", views.help_category, name="help-category"),
    path("<slug:workspace_slug>/<str:locale>/articles/<str:slug>/", views.help_article, name="help-article"),
    path("<slug:workspace_slug>/<str:locale>/articles/<str:slug>/feedback/", views.help_feedback, name="help-feedback"),
]

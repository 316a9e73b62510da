"""A URLconf serving the bot's language-understanding router under /api/v1, as touchpoint.api will once
the router is registered there: the API tests run against the same authentication and problem handlers."""

from django.urls import include, path

from touchpoint.bot.api import router
from touchpoint.core.api import JSONParser, SessionAuth, TokenAuth, TouchpointAPI, install_problem_handlers

api = TouchpointAPI(title="Touchpoint API (bot)", version="1.0.0", urls_namespace="api-v1-bot-nlu",
                    auth=[TokenAuth(), SessionAuth()], parser=JSONParser())
install_problem_handlers(api)
api.add_router("", router)

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("touchpoint.urls")),
]

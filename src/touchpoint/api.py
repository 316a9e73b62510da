"""The REST API v1: one NinjaAPI, each app contributing its router.

Every endpoint authenticates with a bearer API token (or the logged-in session), answers errors as
application/problem+json and pages long lists with opaque cursors; see core/api.py.
"""

from touchpoint.accounts.api import router as accounts_router
from touchpoint.automation.api import router as automation_router
from touchpoint.bot.api import router as bot_router
from touchpoint.channels.api import router as channels_router
from touchpoint.commerce.api import router as commerce_router
from touchpoint.conversations.api import router as conversations_router
from touchpoint.core.api import JSONParser, SessionAuth, TokenAuth, TouchpointAPI, install_problem_handlers
from touchpoint.customers.api import router as customers_router
from touchpoint.knowledge.api import router as knowledge_router
from touchpoint.routing.api import router as routing_router
from touchpoint.routing.wallboard_api import router as wallboard_router

DESCRIPTION = """Customer service and customer experience on one record per customer.

**Authentication**: `Authorization: Bearer <key>` with an API token issued by an admin (a token acts
with at most its issuer's role), or the logged-in session with the CSRF token for writes.

**Errors** are `application/problem+json`: `{type, title, status, detail, code, field?, errors?}`;
branch on `code`, show `detail`.

**Lists** that grow return `{items, next_cursor}`; pass `next_cursor` back as `cursor` until it is null.
Timestamps are ISO 8601 in UTC.
"""

api = TouchpointAPI(
    title="Touchpoint API",
    version="1.0.0",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=[TokenAuth(), SessionAuth()],
    parser=JSONParser(),
)
install_problem_handlers(api)
api.add_router("", accounts_router)
api.add_router("", customers_router)
api.add_router("", conversations_router)
api.add_router("", channels_router)
api.add_router("", automation_router)
api.add_router("", commerce_router)
api.add_router("", knowledge_router)
api.add_router("", bot_router)
api.add_router("", routing_router)
api.add_router("", wallboard_router)

"""The widget's HTTP surface under /widget/v1/: the script, its settings, uploads, the away form and
file downloads; and the demo store page that shows the widget on a shop.

These answer any website (CORS `*`, no cookies, no CSRF: a visitor proves who they are with the
signed session token their socket was given, never with a cookie)."""

import json
from collections.abc import Callable
from functools import wraps
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from touchpoint.channels.models import ChannelAccount
from touchpoint.channels.webchat import payloads, selectors, services
from touchpoint.channels.webchat.consumers import origin_allowed
from touchpoint.channels.webchat.services import VisitorSession
from touchpoint.conversations.models import Attachment, Channel, MessageKind
from touchpoint.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from touchpoint.core.net import request_address
from touchpoint.customers.models import Customer

View = Callable[..., HttpResponse]


def widget_api(view: View) -> View:
    """Open to every origin, answers preflights, and turns refusals into JSON a widget can show."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
        else:
            try:
                response = view(request, *args, **kwargs)
            except DomainError as error:
                response = problem(error)
        response["Access-Control-Allow-Origin"] = "*"
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "86400"
        return response

    return wrapper


def problem(error: DomainError) -> JsonResponse:
    body = {"code": error.code, "message": error.message, "field": error.field}
    response = JsonResponse(body, status=error.status)
    if isinstance(error, services.RateLimited):
        response["Retry-After"] = str(error.retry_after)
        body["retry_after"] = error.retry_after
        response.content = json.dumps(body)
    return response


def _account(key: str) -> ChannelAccount:
    account = selectors.widget_account(key)
    if account is None:
        raise NotFound("No active widget has this key; check the snippet.", code="unknown_widget")
    return account


def _session(request: HttpRequest, token: str) -> tuple[VisitorSession, ChannelAccount]:
    session = VisitorSession.from_token(token).at(request_address(request))
    account = ChannelAccount.objects.select_related("workspace").filter(
        pk=session.account_id, kind=Channel.WEBCHAT, is_active=True).first()
    if account is None:
        raise PermissionDenied("This chat is closed; reload the page.", code="session_invalid")
    _check_origin(request, account)
    return session, account


def _check_origin(request: HttpRequest, account: ChannelAccount) -> None:
    origin = request.headers.get("Origin", "")
    if origin and not origin_allowed(account, origin):
        raise PermissionDenied("This widget is not enabled on this website.", code="origin_refused")


# ---- the script and its settings ------------------------------------------------------------------


@widget_api
def script(request: HttpRequest, key: str) -> HttpResponse:
    """The one file a site includes. It finds its key and our address in its own URL."""
    if request.method != "GET":
        raise ValidationFailed("Use GET.", code="method_not_allowed")
    if selectors.widget_account(key) is None:
        response = HttpResponse("/* Touchpoint: no active widget has this key; check the snippet. */\n",
                                content_type="text/javascript; charset=utf-8", status=404)
        return response
    response = HttpResponse(Path(finders.find("webchat/widget.js")).read_bytes(),
                            content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response


@widget_api
def config(request: HttpRequest, key: str) -> HttpResponse:
    account = _account(key)
    _check_origin(request, account)
    response = JsonResponse(selectors.public_config(account))
    response["Cache-Control"] = "no-store"  # online or away changes with the hours
    return response


# ---- uploads, the away form, files -------------------------------------------------------------------


@widget_api
def upload(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        raise ValidationFailed("Upload a file with POST (multipart: token, file).", code="method_not_allowed")
    session, _ = _session(request, request.POST.get("token", ""))
    incoming = request.FILES.get("file")
    if incoming is None:
        raise ValidationFailed("Attach the file in the 'file' field.", field="file")
    services.check_upload_size(incoming.name, incoming.size)
    stored = services.store_upload(session=session, filename=incoming.name, content_type=incoming.content_type or "",
                                   data=incoming.read())
    return JsonResponse(stored, status=201)


@widget_api
def offline(request: HttpRequest) -> HttpResponse:
    """The away form: a message and an email address to answer it at."""
    if request.method != "POST":
        raise ValidationFailed("Send the form with POST.", code="method_not_allowed")
    data = _body(request)
    session, account = _session(request, str(data.get("token") or ""))
    received = services.leave_offline_message(
        account=account, session=session, client_id=data.get("client_id"), email=str(data.get("email") or ""),
        text=data.get("text"), name=str(data.get("name") or "").strip()[:200],
    )
    message = received.message
    visible = received.customer_id is not None and message.customer_id == received.customer_id
    return JsonResponse({"message": payloads.widget_message(message) if visible else None,
                         "client_id": message.external_id, "visible": visible,
                         "answer_by": "email"}, status=201 if received.created else 200)


def _body(request: HttpRequest) -> dict:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            raise ValidationFailed("The body is not valid JSON.", code="bad_json") from None
        if not isinstance(data, dict):
            raise ValidationFailed("Send a JSON object.", code="bad_json")
        return data
    return request.POST.dict()


@widget_api
def download(request: HttpRequest, ticket: str) -> HttpResponse:
    """A file of the visitor's chat, from the signed link the widget was given. Always a download."""
    found = payloads.file_from_ticket(ticket)
    if found is None:
        raise NotFound("This link expired; reopen the chat to get a fresh one.")
    attachment_id, customer_id = found
    attachment = Attachment.objects.select_related("message").filter(
        pk=attachment_id, message__kind__in=(MessageKind.INCOMING, MessageKind.OUTGOING)).first()
    owner = selectors.follow_merges(attachment.message.customer) if attachment else None
    linked = selectors.follow_merges(Customer.objects.filter(pk=customer_id).first())
    if attachment is None or owner is None or linked is None or owner.pk != linked.pk:
        raise NotFound("No such file.")
    response = FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.filename,
                            content_type=attachment.content_type)
    response["Cache-Control"] = "private, no-store"
    return response


# ---- the demo store -------------------------------------------------------------------------------


PRODUCTS = [
    ("Trailhead rain jacket", "£89", "Waterproof, packs into its own pocket."),
    ("Merino base layer", "£45", "Warm when it's cold, cool when it isn't."),
    ("Summit 35 L backpack", "£110", "Hip belt, rain cover, laptop sleeve."),
    ("Ridge walking boots", "£135", "Leather uppers, grippy soles, broken in on day one."),
]


def demo_store(request: HttpRequest) -> HttpResponse:
    """Northwind Outfitters' shop front with the chat widget on it (only while the demo workspace exists).
    "Sign in" shows identity verification: the page's server signs a made-up shopper for the widget,
    for anyone who asks, which is why it exists only here (services.demo_sign_in)."""
    from touchpoint.demo import demo_workspace

    workspace = demo_workspace()
    if workspace is None:
        raise Http404("The demo store appears once the demo is loaded (`touchpoint demo`).")
    account = services.ensure_demo_widget(workspace)
    signed = None
    if request.GET.get("signed_in"):
        try:
            signed = services.demo_sign_in(account=account, demo_workspace=workspace)
        except NotFound as error:
            raise Http404(error.message) from None
    return render(request, "webchat/demo_store.html", {
        "workspace": workspace, "key": account.address, "products": PRODUCTS, "signed": signed,
    })

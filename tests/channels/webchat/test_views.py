"""The widget's HTTP surface: the script, its settings, uploads, the away form, file links, the demo store."""

import json
import uuid
from io import StringIO

import pytest
from django.core import signing
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.test import Client

from touchpoint.accounts import services as accounts
from touchpoint.channels.models import ChannelAccount
from touchpoint.channels.webchat import payloads, services
from touchpoint.channels.webchat.services import create_widget, start_session, user_hash
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Attachment, Message
from touchpoint.conversations.services import Content, IncomingFile
from touchpoint.core.errors import DomainError, PermissionDenied, ValidationFailed
from touchpoint.customers import services as customers
from touchpoint.customers.models import Identity

from .conftest import ALWAYS, NEVER


@pytest.fixture
def widget(desk):
    return create_widget(actor=desk.admin_actor, name="Shop", config={"business_hours": ALWAYS})


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}}}


def session_for(widget, visitor_id: str | None = None):
    return start_session(account=widget, visitor_id=visitor_id or str(uuid.uuid4()))


def post_json(client: Client, url: str, body: dict, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


# ---- script and settings -------------------------------------------------------------------------


def test_the_script_is_served_for_a_known_key_to_any_site(client, widget):
    response = client.get(f"/widget/v1/{widget.address}.js", HTTP_ORIGIN="https://shop.example")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert b"TouchpointWidget" in response.content
    missing = client.get("/widget/v1/wk_unknown.js")
    assert missing.status_code == 404 and b"no active widget" in missing.content


def test_settings_show_names_and_hours_never_the_secret_or_team_ids(client, desk):
    team = accounts.create_team(actor=desk.admin_actor, name="Orders")
    widget = create_widget(actor=desk.admin_actor, name="Shop", config={
        "prechat": True, "topics": {"Orders": team.pk}, "business_hours": NEVER, "color": "#aa3300"})
    body = client.get(f"/widget/v1/{widget.address}/config").json()
    assert body["online"] is False and body["prechat"] == {"enabled": True, "topics": ["Orders"]}
    assert body["color"] == "#aa3300" and body["limits"]["message_chars"] == 5000
    assert widget.secret not in json.dumps(body) and "team" not in json.dumps(body)
    assert client.get("/widget/v1/wk_unknown/config").json()["code"] == "unknown_widget"


def test_the_workspace_business_hours_decide_online_unless_the_widget_has_its_own(client, desk):
    from datetime import datetime

    from touchpoint.core.clock import within_business_hours

    hours = {"mon": [["09:00", "17:00"]]}
    monday_noon_paris = datetime.fromisoformat("2026-11-23T11:00:00+00:00")
    assert within_business_hours(hours, "Europe/Paris", [], monday_noon_paris)
    assert not within_business_hours(hours, "America/New_York", [], monday_noon_paris)  # 06:00 there
    assert not within_business_hours(hours, "Europe/Paris", ["2026-11-23"], monday_noon_paris)
    assert within_business_hours({"mon": [["00:00", "23:59"]]}, "UTC", [],
                                 datetime.fromisoformat("2026-11-23T23:59:30+00:00"))
    closed = create_widget(actor=desk.admin_actor, name="Closed")  # the workspace's hours: Mon–Fri 9–17 UTC
    accounts.update_workspace_settings(actor=desk.admin_actor, workspace=desk.workspace, business_hours={})
    assert client.get(f"/widget/v1/{closed.address}/config").json()["online"] is False


def test_a_widget_limited_to_its_sites_refuses_others(client, desk):
    widget = create_widget(actor=desk.admin_actor, name="Shop", config={"allowed_origins": ["https://shop.example"]})
    assert client.get(f"/widget/v1/{widget.address}/config", HTTP_ORIGIN="https://shop.example").status_code == 200
    refused = client.get(f"/widget/v1/{widget.address}/config", HTTP_ORIGIN="https://evil.example")
    assert (refused.status_code, refused.json()["code"]) == (403, "origin_refused")


def test_preflight_is_answered_for_any_origin(client, widget):
    response = client.options("/widget/v1/offline", HTTP_ORIGIN="https://shop.example",
                              HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*" and "POST" in response["Access-Control-Allow-Methods"]


def test_only_admins_create_widgets_and_settings_are_checked(desk, other_desk):
    with pytest.raises(PermissionDenied):
        create_widget(actor=desk.agent_actor, name="Shop")
    theirs = accounts.create_team(actor=other_desk.admin_actor, name="Theirs")
    for config, field in [({"topics": {"Orders": theirs.pk}}, None), ({"topics": {"Orders": "x"}}, "topics"),
                          ({"allowed_origins": ["shop.example/path"]}, "allowed_origins"),
                          ({"business_hours": {"mon": [["18:00", "09:00"]]}}, "business_hours"),
                          ({"color": "red; background: url(x)"}, "color")]:
        with pytest.raises(DomainError) as refused:
            create_widget(actor=desk.admin_actor, name="Shop", config=config)
        assert field is None or refused.value.field == field
    assert not ChannelAccount.objects.filter(kind="webchat").exists()


# ---- uploads and files -----------------------------------------------------------------------------


def upload(client, session, name="receipt.pdf", data=b"%PDF-1.4 receipt", content_type="application/pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/widget/v1/uploads", {"token": session.token(),
                                              "file": SimpleUploadedFile(name, data, content_type=content_type)})


def test_an_upload_is_attached_to_the_next_message_and_downloadable_only_by_its_link(client, widget, desk):
    session = session_for(widget)
    response = upload(client, session)
    assert response.status_code == 201 and response["Access-Control-Allow-Origin"] == "*"
    ticket = response.json()
    assert (ticket["name"], ticket["size"]) == ("receipt.pdf", 16)

    received = services.receive_visitor_message(account=widget, session=session, client_id=str(uuid.uuid4()),
                                                text="Here is my receipt", uploads=[ticket["upload"]])
    attachment = received.message.attachments.get()
    assert (attachment.filename, attachment.size) == ("receipt.pdf", 16)
    assert not default_storage.listdir("widget-uploads")[1]  # the waiting copy is gone
    assert not any(default_storage.listdir(f"widget-uploads/{d}")[1] for d in default_storage.listdir("widget-uploads")[0])

    link = payloads.widget_message(received.message)["attachments"][0]["url"]
    download = client.get(link)
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert b"".join(download.streaming_content) == b"%PDF-1.4 receipt"
    assert client.get("/widget/v1/files/forged/").status_code == 404
    # A signed link that names a customer other than the file's opens nothing.
    other = customers.create_customer(workspace_id=desk.id)
    crossed = signing.dumps([attachment.pk, other.pk], salt=payloads.FILE_SALT)
    assert client.get(f"/widget/v1/files/{crossed}/").status_code == 404


def test_a_notes_file_never_opens_for_the_visitor(client, widget, desk):
    session = session_for(widget)
    received = services.receive_visitor_message(account=widget, session=session, client_id=str(uuid.uuid4()),
                                                text="hi")
    note = conversations.add_note(actor=desk.agent_actor, conversation=received.message.conversation,
                                  content=Content(text="internal"),
                                  attachments=[IncomingFile(filename="notes.txt", content_type="text/plain", data=b"x")])
    ticket = signing.dumps([note.attachments.get().pk, received.customer_id], salt=payloads.FILE_SALT)
    assert client.get(f"/widget/v1/files/{ticket}/").status_code == 404


def test_uploads_are_refused_clearly_when_too_big_of_a_wrong_type_or_without_a_session(client, widget, settings):
    settings.WIDGET_UPLOAD_MAX_BYTES = 10
    session = session_for(widget)
    big = upload(client, session, data=b"x" * 11)
    assert (big.status_code, big.json()["code"]) == (422, "attachment_too_large")
    assert "at most" in big.json()["message"]
    settings.WIDGET_UPLOAD_MAX_BYTES = 1000
    wrong = upload(client, session, name="run.exe", content_type="application/x-msdownload")
    assert (wrong.status_code, wrong.json()["code"]) == (422, "attachment_type")
    anonymous = client.post("/widget/v1/uploads", {"token": "forged"})
    assert (anonymous.status_code, anonymous.json()["code"]) == (403, "session_invalid")
    assert client.post("/widget/v1/uploads", {"token": session.token()}).json()["field"] == "file"


def test_uploads_are_rate_limited(client, widget, settings):
    settings.WIDGET_UPLOADS_PER_MINUTE = 2
    session = session_for(widget)
    assert [upload(client, session).status_code for _ in range(2)] == [201, 201]
    third = upload(client, session)
    assert third.status_code == 429 and int(third["Retry-After"]) > 0 and third.json()["code"] == "rate_limited"


def test_an_upload_cannot_be_used_by_another_visitor(client, widget):
    ticket = upload(client, session_for(widget)).json()["upload"]
    with pytest.raises(ValidationFailed, match="someone else"):
        services.receive_visitor_message(account=widget, session=session_for(widget), client_id=str(uuid.uuid4()),
                                         text="mine now", uploads=[ticket])


# ---- the away form ----------------------------------------------------------------------------------


def test_an_offline_message_can_be_answered_by_email(client, widget, desk):
    session = session_for(widget)
    body = {"token": session.token(), "client_id": str(uuid.uuid4()), "email": "Lena@Example.com", "name": "Lena",
            "text": "Do you ship to Norway?"}
    response = post_json(client, "/widget/v1/offline", body, HTTP_ORIGIN="https://shop.example")
    assert response.status_code == 201 and response["Access-Control-Allow-Origin"] == "*"
    assert response.json()["visible"] is True and response.json()["answer_by"] == "email"
    message = Message.objects.select_related("conversation", "customer").get(pk=response.json()["message"]["id"])
    assert message.metadata["offline"] is True and message.metadata["reply_to"] == "lena@example.com"
    assert message.customer.name == "Lena"
    assert {(i.kind, i.verified) for i in message.customer.identities.all()} == {("visitor", False), ("email", False)}
    # Sent twice (the answer was lost): stored once.
    assert post_json(client, "/widget/v1/offline", body).status_code == 200
    assert Message.objects.filter(metadata__offline=True).count() == 1
    # The agent answers by email: the conversation's customer has the address to send to.
    answer = conversations.reply(actor=desk.agent_actor, conversation=message.conversation,
                                 content=Content(text="We do!"), channel="email")
    assert answer.channel == "email" and message.conversation.channel == "webchat"


def test_an_offline_message_with_someone_elses_email_shows_the_visitor_nothing_of_theirs(client, widget, desk):
    owner = customers.create_customer(workspace_id=desk.id, name="Vera", identities=[("email", "vera@example.com")])
    ongoing, _ = conversations.receive_message(workspace_id=desk.id, channel="webchat", customer=owner,
                                               content=Content(text="Vera's own chat"))
    session = session_for(widget)
    response = post_json(client, "/widget/v1/offline", {
        "token": session.token(), "client_id": str(uuid.uuid4()), "email": "vera@example.com", "text": "hello"})
    assert response.status_code == 201
    assert response.json() == {"message": None, "client_id": response.json()["client_id"], "visible": False,
                               "answer_by": "email"}
    message = Message.objects.get(metadata__offline=True)
    assert message.customer_id == owner.pk and message.conversation_id != ongoing.conversation_id
    assert not Identity.objects.filter(kind="visitor", value=session.visitor_id).exists()


def test_the_away_form_refuses_bad_input_and_changes_nothing(client, widget):
    session = session_for(widget)
    base = {"token": session.token(), "client_id": str(uuid.uuid4()), "email": "lena@example.com", "text": "hi"}
    for change, field in [({"email": "not-an-email"}, "email"), ({"text": "  "}, "text"), ({"client_id": "1"}, "client_id")]:
        response = post_json(client, "/widget/v1/offline", {**base, **change})
        assert response.status_code == 422 and response.json()["field"] == field, response.json()
    assert post_json(client, "/widget/v1/offline", {**base, "token": "x"}).status_code == 403
    assert client.post("/widget/v1/offline", "{not json", content_type="application/json").json()["code"] == "bad_json"
    assert client.get("/widget/v1/offline").status_code == 422
    assert not Message.objects.exists() and not Identity.objects.exists()


# ---- the demo store and the command ---------------------------------------------------------------


def test_the_demo_store_appears_only_with_the_demo_workspace(client, db):
    assert client.get("/demo-store/").status_code == 404
    workspace, admin = accounts.create_workspace(name="Northwind Outfitters", slug="northwind",
                                                 admin_email="admin@northwind.test", admin_password="admin-pass-1")
    customer = customers.create_customer(workspace_id=workspace.pk, name="Maria Garcia",
                                         identities=[("email", "maria@northwind.test")])
    customers.add_identity(customer=customer, kind="external", value="shop-100007", verified=True)
    conversations.receive_message(workspace_id=workspace.pk, channel="webchat", customer=customer,
                                  content=Content(text="hello"))
    page = client.get("/demo-store/")
    widget = ChannelAccount.objects.get(workspace=workspace, kind="webchat")
    assert page.status_code == 200 and f'src="/widget/v1/{widget.address}.js"'.encode() in page.content
    assert b"data-user-hash" not in page.content
    signed = client.get("/demo-store/?signed_in=1").content.decode()
    assert f'data-user-hash="{user_hash(widget.secret, "shop-100007", "maria@northwind.test")}"' in signed and "Maria Garcia" in signed
    assert client.get("/demo-store/").status_code == 200
    assert ChannelAccount.objects.filter(kind="webchat").count() == 1  # made once


def test_createwidget_prints_the_snippet_and_the_secret_once(desk):
    accounts.create_team(actor=desk.admin_actor, name="Orders")
    out = StringIO()
    call_command("createwidget", "acme", "--name", "Shop", "--prechat", "--topic", "Orders=Orders",
                 "--url", "https://desk.example.com", stdout=out)
    widget = ChannelAccount.objects.get(kind="webchat")
    assert f'<script src="https://desk.example.com/widget/v1/{widget.address}.js" async></script>' in out.getvalue()
    assert widget.secret in out.getvalue()
    assert widget.config["prechat"] is True and list(widget.config["topics"]) == ["Orders"]
    with pytest.raises(CommandError, match="TOPIC=TEAM"):
        call_command("createwidget", "acme", "--name", "Shop", "--topic", "Orders=Nobody", stdout=StringIO())
    with pytest.raises(CommandError, match="No workspace"):
        call_command("createwidget", "nope", "--name", "Shop", stdout=StringIO())


def test_no_attachment_rows_are_left_by_a_refused_message(widget):
    with pytest.raises(ValidationFailed):
        services.receive_visitor_message(account=widget, session=session_for(widget), client_id=str(uuid.uuid4()),
                                         text="x", uploads=["forged"])
    assert not Attachment.objects.exists() and not Message.objects.exists()

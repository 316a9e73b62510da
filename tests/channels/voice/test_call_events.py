"""The call-event webhook: a call's figures from its events, however they arrive."""

import random
from datetime import timedelta

import pytest

from touchpoint.channels.models import Call, CallEvent, CallLeg, ChannelAccount
from touchpoint.conversations.models import Conversation, Message, MessageKind
from touchpoint.customers.models import Customer, Identity
from touchpoint.customers.timeline import customer_timeline

from ..messaging.conftest import inbound_sms, post_signed
from .conftest import CALLER, LINE, T0, ana, event, full_call, post_event

S = timedelta(seconds=1)


def _post_all(client, account, events):
    for payload in events:
        response = post_event(client, account, payload)
        assert response.status_code == 200, response.content
    return Call.objects.get(account=account, external_id=events[0]["call_id"])


def _call_lines(call: Call) -> list[str]:
    return list(call.conversation.messages.filter(kind=MessageKind.EVENT, metadata__has_key="call_event")
                .order_by("created_at", "id").values_list("content_text", flat=True))


def _assert_full_call_figures(call: Call, desk) -> None:
    assert (call.state, call.abandoned) == ("done", False)
    assert (call.started_at, call.queued_at, call.answered_at) == (T0, T0, T0 + 42 * S)
    assert (call.ended_at, call.wrap_up_finished_at) == (T0 + 380 * S, T0 + 440 * S)
    # Queue: 42 s before Ana, 20 s in Billing before Ben. Ringing: 12 s + 10 s.
    assert (call.queue_time, call.ring_time) == (62 * S, 22 * S)
    # Ana: 42 s → 180 s less 30 s hold = 108 s. Ben: 200 s → 380 s less 20 s hold still open at the end = 160 s.
    assert (call.talk_time, call.hold_time) == (268 * S, 50 * S)
    assert call.after_call_work == (40 + 60) * S
    assert call.handle_time == 418 * S
    assert call.disposition == "Refund issued"
    first, second = call.legs.order_by("position")
    assert (first.agent_id, first.queue, first.transferred, first.abandoned) == (desk.agent.pk, "Support", True, False)
    assert (first.queue_time, first.ring_time, first.talk_time, first.hold_time, first.after_call_work) == (
        42 * S, 12 * S, 108 * S, 30 * S, 40 * S)
    assert (second.agent_id, second.queue, second.transferred) == (desk.agent2.pk, "Billing", False)
    assert (second.queued_at, second.answered_at, second.ended_at) == (T0 + 180 * S, T0 + 200 * S, T0 + 380 * S)
    assert (second.queue_time, second.ring_time, second.talk_time, second.hold_time, second.after_call_work) == (
        20 * S, 10 * S, 160 * S, 20 * S, 60 * S)


def test_a_full_call_with_a_transfer(client, desk, voice_account):
    call = _post_all(client, voice_account, full_call(desk))
    _assert_full_call_figures(call, desk)
    assert CallLeg.objects.filter(call=call).count() == 2
    conversation = call.conversation
    assert (conversation.channel, conversation.channel_account_id) == ("voice", voice_account.pk)
    assert conversation.subject == f"Call from {CALLER}"
    # A human connected at 0:42: that is the conversation's first response, and nobody waits any more.
    assert conversation.first_response_at == T0 + 42 * S and conversation.waiting_since is None
    assert conversation.assignee_id == desk.agent2.pk  # whoever holds the call owns the conversation
    assert _call_lines(call) == [
        f"Call from {CALLER} is waiting in the Support queue.",
        "Ringing Ana acme.",
        "Call answered by Ana acme after 0:42 in queue.",
        "Ana acme put the caller on hold.",
        "Ana acme took the caller off hold after 0:30.",
        "Ana acme transferred the call to the Billing queue.",
        "Ringing Ben acme.",
        "Call answered by Ben acme after 0:20 in queue.",
        "Ana acme finished after-call work in 0:40.",
        "Ben acme put the caller on hold.",
        "Call ended: talk 4:28, hold 0:50.",
        "Ben acme finished after-call work in 1:00.",
    ]
    # The lines sit in the thread at the moment each thing happened.
    assert conversation.messages.get(content_text__startswith="Call ended").created_at == T0 + 380 * S


def test_events_out_of_order_give_the_same_call(client, desk, voice_account):
    events = full_call(desk)
    random.Random(7).shuffle(events)
    assert events[0]["event"] != "offered"
    call = _post_all(client, voice_account, events)
    _assert_full_call_figures(call, desk)
    assert Conversation.objects.filter(workspace_id=desk.id).count() == 1
    assert call.conversation.first_response_at == T0 + 42 * S


def test_events_in_reverse_give_the_same_call(client, desk, voice_account):
    call = _post_all(client, voice_account, list(reversed(full_call(desk))))
    _assert_full_call_figures(call, desk)


def test_replayed_events_are_recorded_once(client, desk, voice_account):
    events = full_call(desk)
    _post_all(client, voice_account, events)
    lines = Message.objects.filter(workspace_id=desk.id).count()
    for payload in events:
        response = post_event(client, voice_account, payload)
        assert response.status_code == 200 and response.json()["recorded"] is False
    call = Call.objects.get()
    assert CallEvent.objects.filter(call=call).count() == len(events)
    assert Message.objects.filter(workspace_id=desk.id).count() == lines
    _assert_full_call_figures(call, desk)


def test_the_same_instant_written_differently_is_the_same_event(client, desk, voice_account):
    first = event("offered", 0, queue="Support")
    again = {**first, "at": "2026-03-02T10:00:00+01:00"}
    post_event(client, voice_account, first)
    assert post_event(client, voice_account, again).json()["recorded"] is False
    assert CallEvent.objects.count() == 1


def test_an_abandoned_call(client, desk, voice_account):
    call = _post_all(client, voice_account, [
        event("offered", 0, queue="Support"),
        event("ringing", 20, agent_email=ana(desk)),
        event("abandoned", 65),
        event("ended", 65),  # telephony systems often report both
    ])
    assert (call.state, call.abandoned, call.queue_time, call.ended_at) == ("abandoned", True, 65 * S, T0 + 65 * S)
    assert (call.answered_at, call.talk_time, call.hold_time, call.after_call_work) == (None, None, None, None)
    [leg] = call.legs.all()
    assert (leg.abandoned, leg.queue_time, leg.ring_time) == (True, 65 * S, None)
    conversation = call.conversation
    # Nobody answered: no first response, and the caller still waits for someone to call back.
    assert conversation.first_response_at is None and conversation.waiting_since == T0
    assert _call_lines(call)[-1] == "The caller hung up after 1:05 in queue: abandoned."
    assert conversation.assignee_id is None


def test_an_unanswered_hang_up_counts_as_abandoned_without_an_abandoned_event(client, desk, voice_account):
    call = _post_all(client, voice_account, [event("offered", 0), event("ended", 30)])
    assert (call.abandoned, call.queue_time, call.state) == (True, 30 * S, "abandoned")


def test_a_caller_lost_in_the_ivr_was_never_offered(client, desk, voice_account):
    call = _post_all(client, voice_account, [event("ended", 25)])
    assert (call.queued_at, call.abandoned, call.queue_time, call.state) == (None, False, None, "done")
    assert _call_lines(call) == ["The caller hung up before reaching a queue."]


def test_a_caller_lost_after_a_transfer_is_not_an_abandon(client, desk, voice_account):
    call = _post_all(client, voice_account, [
        event("offered", 0), event("answered", 10, agent_email=ana(desk)),
        event("transferred", 70, agent_email=ana(desk), queue="Billing"), event("ended", 100),
    ])
    first, second = call.legs.all()
    assert (call.abandoned, call.queue_time, call.talk_time) == (False, 40 * S, 60 * S)
    assert (second.abandoned, second.queue_time) == (True, 30 * S)


def test_live_states_while_the_call_goes_on(client, desk, voice_account):
    states = []
    for payload in [event("offered", 0), event("ringing", 5, agent_email=ana(desk)),
                    event("answered", 9, agent_email=ana(desk)), event("hold", 30), event("unhold", 40),
                    event("ended", 60), event("wrap_up_finished", 90, agent_email=ana(desk))]:
        states.append(post_event(client, voice_account, payload).json()["state"])
    assert states == ["queued", "ringing", "talking", "on_hold", "talking", "wrap_up", "done"]
    call = Call.objects.get()
    assert (call.talk_time, call.hold_time, call.after_call_work) == (41 * S, 10 * S, 30 * S)


def test_an_unknown_agent_email_is_kept_as_reported(client, desk, voice_account):
    call = _post_all(client, voice_account, [event("answered", 0, agent_email="Temp@Agency.test"), event("ended", 30)])
    [leg] = call.legs.all()
    assert (leg.agent_id, leg.agent_email) == (None, "temp@agency.test")
    assert _call_lines(call)[0] == "Call answered by temp@agency.test."
    assert call.conversation.first_response_at == T0  # a human answered, whoever they were
    assert call.conversation.assignee_id is None


def test_sms_and_voice_from_one_number_are_one_customer(client, desk, voice_account):
    from touchpoint.channels.models import ChannelAccount as Account

    sms = Account.objects.create(workspace_id=desk.id, kind="sms", name="Texts", address="+14155550100",
                                 config={"account_sid": "AC" + "1" * 32}, secret="sms-token")
    assert post_signed(client, f"/channels/twilio/{sms.pk}/messages", inbound_sms("call me?", sender=CALLER),
                       token="sms-token").status_code == 200
    _post_all(client, voice_account, [event("offered", 0, caller="+1 (415) 555-2671")])
    assert Customer.objects.filter(workspace_id=desk.id).count() == 1
    assert Identity.objects.get(workspace_id=desk.id).value == CALLER
    channels = set(Conversation.objects.filter(workspace_id=desk.id).values_list("channel", flat=True))
    assert channels == {"sms", "voice"}


def test_every_call_is_a_conversation_of_its_own(client, desk, voice_account):
    _post_all(client, voice_account, [event("offered", 0, call_id="CA-1"), event("ended", 30, call_id="CA-1")])
    _post_all(client, voice_account, [event("offered", 600, call_id="CA-2")])
    assert Conversation.objects.filter(workspace_id=desk.id, channel="voice").count() == 2
    assert Customer.objects.filter(workspace_id=desk.id).count() == 1


def test_a_withheld_number_gets_a_customer_of_its_own(client, desk, voice_account):
    call = _post_all(client, voice_account, [event("offered", 0, caller="anonymous")])
    assert call.conversation.customer.name == "Withheld number"
    assert not Identity.objects.exists()


def test_the_call_appears_on_the_customers_timeline_with_its_durations(client, desk, voice_account):
    call = _post_all(client, voice_account, full_call(desk))
    [entry] = [e for e in customer_timeline(call.conversation.customer_id) if e.kind.startswith("call")]
    assert entry.kind == "call.answered" and entry.at == T0
    assert entry.title == f"Call from {CALLER} · answered by Ana acme"
    assert entry.body == "queue 1:02 · talk 4:28 · hold 0:50 · after-call work 1:40 · 2 legs · disposition: Refund issued"
    assert entry.ref == {"conversation_id": call.conversation_id, "call_id": call.pk, "channel": "voice", "state": "done"}
    assert customer_timeline(call.conversation.customer_id, before=T0) == []


def test_the_timeline_shows_an_abandoned_call(client, desk, voice_account):
    call = _post_all(client, voice_account, [event("offered", 0), event("abandoned", 75)])
    [entry] = [e for e in customer_timeline(call.conversation.customer_id) if e.kind.startswith("call")]
    assert (entry.kind, entry.body) == ("call.abandoned", "queue 1:15")


# ---- refusals ---------------------------------------------------------------------------------


def _nothing_stored():
    assert not Call.objects.exists() and not CallEvent.objects.exists()
    assert not Conversation.objects.exists() and not Customer.objects.exists() and not Message.objects.exists()


def test_a_missing_signature_is_403(client, desk, voice_account):
    response = post_event(client, voice_account, event("offered", 0), signature="")
    assert response.status_code == 403 and response.json()["code"] == "bad_signature"
    assert "X-Touchpoint-Signature" in response.json()["detail"]
    _nothing_stored()


def test_a_forged_signature_answers_like_an_unknown_account(client, desk, voice_account):
    forged = post_event(client, voice_account, event("offered", 0), secret="guessed")
    unknown = post_event(client, voice_account, event("offered", 0), account_id=voice_account.pk + 999)
    assert forged.status_code == unknown.status_code == 404
    assert forged.json()["detail"].replace(str(voice_account.pk), "<id>") == \
        unknown.json()["detail"].replace(str(voice_account.pk + 999), "<id>")
    _nothing_stored()


def test_another_workspaces_account_id_is_404(client, desk, other_desk, voice_account):
    theirs = ChannelAccount.objects.create(workspace_id=other_desk.id, kind="voice", name="Globex line",
                                           address="+14155550999", secret="voice-signing-key-globex")
    # Our telephony system, signing with our key, cannot post into their account.
    response = post_event(client, voice_account, event("offered", 0), account_id=theirs.pk)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    _nothing_stored()


def test_an_account_of_another_kind_is_404(client, desk, voice_account):
    sms = ChannelAccount.objects.create(workspace_id=desk.id, kind="sms", name="Texts", address="+14155550100",
                                        secret=voice_account.secret)
    assert post_event(client, voice_account, event("offered", 0), account_id=sms.pk).status_code == 404
    assert post_event(client, voice_account, event("offered", 0), account_id=2**63).status_code == 404
    _nothing_stored()


@pytest.mark.parametrize("raw, detail", [
    (b'{"call_id": "CA-1", "event": ', "not valid JSON"),
    (b'[{"call_id": "CA-1"}]', "one JSON object"),
    (b"\xff\xfe", "not valid JSON"),
])
def test_bad_json_is_400(client, desk, voice_account, raw, detail):
    response = post_event(client, voice_account, None, raw=raw)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "malformed_json" and detail in response.json()["detail"]
    _nothing_stored()


@pytest.mark.parametrize("change, field, words", [
    ({"event": "picked_up"}, "event", "unknown event 'picked_up'; use one of offered, ringing"),
    ({"at": "2026-03-02T09:00:00"}, "at", "timezone"),
    ({"at": "yesterday"}, "at", "datetime"),
    ({"call_id": ""}, "call_id", "at least 1 character"),
    ({"from": None}, "from", "string"),
    ({"agent": "ana@acme.test"}, "agent", "Extra inputs are not permitted"),
    ({"queue": "Support\x00"}, "queue", "NUL"),
])
def test_invalid_values_are_422_with_the_field(client, desk, voice_account, change, field, words):
    response = post_event(client, voice_account, {**event("offered", 0), **change})
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "validation_failed"
    assert [e["field"] for e in body["errors"]] == [field]
    assert words in body["detail"], body["detail"]
    _nothing_stored()


def test_a_missing_field_is_named(client, desk, voice_account):
    payload = event("offered", 0)
    del payload["at"]
    response = post_event(client, voice_account, payload)
    assert response.status_code == 422 and response.json()["field"] == "at"


def test_an_oversized_body_is_413(client, desk, voice_account):
    response = post_event(client, voice_account, {**event("offered", 0), "queue": "x" * 70_000})
    assert response.status_code == 413
    _nothing_stored()


def test_get_is_not_allowed(client, voice_account):
    assert client.get(f"/channels/voice/{voice_account.pk}/events").status_code == 405


def test_a_call_lands_in_the_accounts_workspace_only(client, desk, other_desk, voice_account):
    _post_all(client, voice_account, [event("offered", 0)])
    assert Call.objects.get().workspace_id == desk.id
    assert not Conversation.objects.filter(workspace_id=other_desk.id).exists()
    assert not Customer.objects.filter(workspace_id=other_desk.id).exists()


def test_the_line_of_an_event_that_changes_nothing_is_not_written(client, desk, voice_account):
    call = _post_all(client, voice_account, [event("offered", 0), event("unhold", 5), event("answered", 10, agent_email=ana(desk)),
                                             event("answered", 12, agent_email=ana(desk))])
    assert _call_lines(call) == [f"Call from {CALLER} is waiting in the queue.", "Call answered by Ana acme after 0:10 in queue."]
    assert LINE == call.called


def test_timeline_query_count_does_not_grow_with_calls(client, desk, voice_account):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from touchpoint.channels.voice.selectors import timeline_source

    counts = []
    for batch in (range(1), range(1, 6)):
        for n in batch:
            _post_all(client, voice_account, [event("offered", n, call_id=f"CA-{n}"),
                                              event("answered", n + 5, call_id=f"CA-{n}", agent_email=ana(desk))])
        customer_id = Call.objects.first().conversation.customer_id
        with CaptureQueriesContext(connection) as queries:
            entries = timeline_source(customer_id, None, 50)
        assert len(entries) == Call.objects.count()
        counts.append(len(queries))
    assert counts == [2, 2]  # the calls, then their legs with their agents


def test_the_webhook_needs_no_csrf_token(desk, voice_account):
    from django.test import Client

    assert post_event(Client(enforce_csrf_checks=True), voice_account, event("offered", 0)).status_code == 200

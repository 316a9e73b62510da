"""/api/v1/bot/intents, /bot/train, /bot/models, /bot/classify and /bot/settings through HTTP: the round
trip, refusals as problems that change nothing, roles, and no way into another workspace's data."""

import pytest

from tests.apiclient import api_as, assert_problem
from tests.bot.nlu_helpers import SMALL, _empty_model_cache  # noqa: F401  (autouse fixture)
from touchpoint.accounts import services as accounts
from touchpoint.bot import services
from touchpoint.bot.models import BotSettings, Intent, TrainedModel

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.bot.nlu_urls")]


@pytest.fixture
def supervisor(desk):
    return api_as(desk.supervisor)


@pytest.fixture
def agent(desk):
    return api_as(desk.agent)


def _state() -> list:
    return [sorted(Intent.objects.values_list("workspace_id", "name", "examples", "description")),
            TrainedModel.objects.count(), sorted(BotSettings.objects.values_list("workspace_id", "enabled"))]


def test_intents_round_trip_then_train_and_classify(desk, supervisor, agent):
    skill = accounts.create_skill(actor=desk.supervisor_actor, name="Orders")
    created = supervisor.post("/bot/intents", {"name": "order_status", "examples": SMALL["order_status"],
                                               "handoff_skill_id": skill.pk, "description": "Where is it"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["handoff_skill"] == {"id": skill.pk, "name": "Orders"} and body["examples"] == SMALL["order_status"]
    for name in ("refund", "opening_hours", "greeting"):
        assert supervisor.post("/bot/intents", {"name": name, "examples": SMALL[name]}).status_code == 201
    listed = agent.get("/bot/intents", limit=3).json()
    rest = agent.get("/bot/intents", limit=3, cursor=listed["next_cursor"]).json()
    assert [i["name"] for i in listed["items"] + rest["items"]] == ["order_status", "refund", "opening_hours",
                                                                    "greeting"]
    changed = supervisor.patch(f"/bot/intents/{body['id']}", {"description": "Status and tracking"}).json()
    assert changed["description"] == "Status and tracking" and changed["handoff_skill"]["id"] == skill.pk
    assert supervisor.patch(f"/bot/intents/{body['id']}", {"handoff_skill_id": None}).json()["handoff_skill"] is None

    assert_problem(agent.get("/bot/models/current"), 404, "not_found")
    trained = supervisor.post("/bot/train", {"mode": "linear"})
    assert trained.status_code == 201, trained.content
    model = trained.json()
    assert model["mode"] == "linear" and model["stale"] is False and sorted(model["intents"]) == sorted(SMALL)
    assert model["metrics"]["examples"] == 32 and model["created_by"]["id"] == desk.supervisor.pk
    assert agent.get("/bot/models/current").json()["id"] == model["id"]
    assert [m["id"] for m in agent.get("/bot/models").json()["items"]] == [model["id"]]

    said = agent.post("/bot/classify", {"text": "where's my parcel NW-100234? it cost $80"}).json()
    assert said["intent"] == "order_status" and not said["out_of_scope"] and said["model_id"] == model["id"]
    assert said["entities"]["order_numbers"] == ["NW-100234"]
    assert said["entities"]["money"] == [{"amount": "80", "currency": "USD"}]
    assert said["ranking"][0]["intent"] == "order_status"
    odd = agent.post("/bot/classify", {"text": "😀" * 3000}).json()
    assert odd["out_of_scope"] and odd["intent"] is None

    supervisor.patch(f"/bot/intents/{body['id']}", {"examples": [*SMALL["order_status"], "parcel tracking"]})
    assert agent.get("/bot/models/current").json()["stale"] is True
    assert supervisor.delete(f"/bot/intents/{body['id']}").status_code == 204
    assert_problem(agent.get(f"/bot/intents/{body['id']}"), 404, "not_found")


def test_agents_read_but_may_not_write(desk, agent):
    intent = services.create_intent(actor=desk.supervisor_actor, name="refund", examples=SMALL["refund"])
    before = _state()
    assert agent.get(f"/bot/intents/{intent.pk}").status_code == 200
    assert agent.get("/bot/settings").status_code == 200
    for response in (
        agent.post("/bot/intents", {"name": "greeting", "examples": SMALL["greeting"]}),
        agent.patch(f"/bot/intents/{intent.pk}", {"description": "mine"}),
        agent.delete(f"/bot/intents/{intent.pk}"),
        agent.post("/bot/intents/defaults"),
        agent.post("/bot/train", {"mode": "linear"}),
        agent.patch("/bot/settings", {"enabled": True}),
    ):
        assert_problem(response, 403, "permission_denied")
    assert _state() == before


def test_another_workspaces_intents_and_models_answer_like_unknown_ids(desk, other_desk):
    for name, examples in SMALL.items():
        services.create_intent(actor=desk.supervisor_actor, name=name, examples=examples)
    intent = Intent.objects.filter(workspace_id=desk.id).first()
    services.train_workspace(workspace_id=desk.id, mode="linear")
    theirs = api_as(other_desk.supervisor)
    before = _state()
    unknown = theirs.get("/bot/intents/999999")
    assert_problem(unknown, 404, "not_found")
    for response in (theirs.get(f"/bot/intents/{intent.pk}"), theirs.patch(f"/bot/intents/{intent.pk}",
                                                                             {"description": "theirs"}),
                     theirs.delete(f"/bot/intents/{intent.pk}"), theirs.get("/bot/models/current")):
        assert_problem(response, 404, "not_found")
    assert theirs.get("/bot/intents").json()["items"] == [] and theirs.get("/bot/models").json()["items"] == []
    assert theirs.post("/bot/classify", {"text": "where is my order"}).json()["model_id"] is None
    assert_problem(theirs.post("/bot/train", {"mode": "linear"}), 422, "not_enough_intents")
    foreign_skill = accounts.create_skill(actor=desk.supervisor_actor, name="Orders")
    assert_problem(theirs.post("/bot/intents", {"name": "x_intent", "examples": SMALL["greeting"],
                                                "handoff_skill_id": foreign_skill.pk}), 404, "not_found")
    assert _state() == before


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"name": "Bad Name", "examples": SMALL["refund"]}, 422, "validation_failed"),
    ({"name": "refund", "examples": SMALL["refund"][:2]}, 422, "validation_failed"),
    ({"name": "refund", "examples": [*SMALL["refund"], SMALL["refund"][0].upper()]}, 422, "duplicate_example"),
    ({"name": "refund"}, 422, "validation_failed"),
    ({"name": "refund", "examples": SMALL["refund"], "colour": "red"}, 422, "validation_failed"),
    ({"name": "refund", "examples": "not a list"}, 422, "validation_failed"),
])
def test_bad_intents_are_problems_and_nothing_is_written(supervisor, body, status, code):
    problem = assert_problem(supervisor.post("/bot/intents", body), status, code)
    assert problem["detail"] and not Intent.objects.exists()


def test_settings_read_and_change(desk, supervisor, agent):
    assert agent.get("/bot/settings").json()["enabled"] is False
    changed = supervisor.patch("/bot/settings", {"greeting": "Hello from Acme", "confidence_threshold": 0.4,
                                                 "channels": ["webchat"], "order_number_prefix": "nw"})
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert body["greeting"] == "Hello from Acme" and body["confidence_threshold"] == 0.4
    assert body["channels"] == ["webchat"] and body["order_number_prefix"] == "NW"
    assert supervisor.patch("/bot/settings", {"greeting": "Hi"}).json()["confidence_threshold"] == 0.4
    assert supervisor.patch("/bot/settings", {"confidence_threshold": None}).json()["confidence_threshold"] is None
    for bad in ({"confidence_threshold": 2}, {"channels": ["fax"]}, {"max_failures": 0}, {"enabled": "maybe"}):
        assert_problem(supervisor.patch("/bot/settings", bad), 422)
    assert agent.get("/bot/settings").json()["greeting"] == "Hi"


def test_turning_the_bot_on_through_the_api_loads_the_commerce_intents(desk, supervisor, agent, monkeypatch):
    original = services.update_bot_settings

    def linear(**kwargs):
        return original(**{**kwargs, "mode": "linear"})

    monkeypatch.setattr(services, "update_bot_settings", linear)
    on = supervisor.patch("/bot/settings", {"enabled": True})
    assert on.status_code == 200, on.content
    assert on.json()["enabled"] and on.json()["default_intents_loaded_at"]
    names = [i["name"] for i in agent.get("/bot/intents", limit=100).json()["items"]]
    assert "cancel_order" in names and len(names) >= 19
    assert agent.post("/bot/classify", {"text": "can I talk to a real person"}).json()["intent"] == "talk_to_human"
    again = supervisor.post("/bot/intents/defaults")
    assert again.status_code == 201 and again.json() == []

"""A store with its bot switched on, for the dialogue, handoff and metrics tests.

The bot is taught the shipped commerce intents and uses a linear model trained on them once per test
run (training takes seconds; each test stores the same model bytes as its workspace's model, as
`train_workspace` would). Catalog and orders are written through the commerce services, customers
write through the channels' own entry points, and the bot's turns run as the worker runs them."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django_tasks_db.models import DBTaskResult

from touchpoint.bot import corpus, selectors, turns
from touchpoint.bot import services as bot
from touchpoint.bot.models import TrainedModel
from touchpoint.bot.nlu import IntentClassifier
from touchpoint.bot.tasks import take_turn
from touchpoint.commerce import services as commerce
from touchpoint.commerce.services import (
    LineRecord,
    OrderRecord,
    ProductRecord,
    ShipmentRecord,
    VariantRecord,
)
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Conversation, Message, MessageKind, SenderType
from touchpoint.conversations.services import Content
from touchpoint.core.clock import now

_trained: dict[str, tuple[bytes, dict, tuple[str, ...]]] = {}


def shipped_model() -> tuple[bytes, dict, tuple[str, ...]]:
    """The shipped intents' linear model (bytes, metrics, intents), trained once per test run."""
    if "model" not in _trained:
        classifier = IntentClassifier.train(corpus.shipped().pairs(), mode="linear")
        _trained["model"] = (classifier.to_bytes(), classifier.metrics, classifier.intents)
    return _trained["model"]


def enable_bot(desk, *, channels=("webchat", "sms", "whatsapp"), name="Nora", prefix="NW") -> None:
    """The shipped intents, their model, and the bot answering on `channels`."""
    bot.install_default_intents(actor=desk.supervisor_actor)
    blob, metrics, intents = shipped_model()
    TrainedModel.objects.create(workspace_id=desk.id, created_at=now(), mode="linear", intents=list(intents),
                                examples_digest=selectors.examples_digest(selectors.training_examples(desk.id)),
                                metrics=metrics, size_bytes=len(blob), blob=blob)
    turns.update_settings(actor=desk.supervisor_actor, enabled=True, order_number_prefix=prefix, name=name,
                          channels=list(channels))


def stock_store(desk) -> None:
    """Jackets, a parka, a tent, sold-out jackets with restock dates; two orders, one shipped."""
    admin = desk.admin_actor
    today = now().date()

    def product(handle, name, kind, variants, url=None):
        commerce.upsert_product(actor=admin, record=ProductRecord(
            handle=handle, name=name, product_type=kind, url=url or f"https://shop.example.com/p/{handle}",
            description=f"The {name}.", variants=variants))

    product("ridgeline-jacket", "Ridgeline Jacket", "jacket", [
        VariantRecord(sku="RJ-BLK-M", price=Decimal("129.00"), currency="USD", attributes={"color": "black",
                      "size": "M"}, quantity=12),
        VariantRecord(sku="RJ-BLK-L", price=Decimal("129.00"), currency="USD", attributes={"color": "black",
                      "size": "L"}, quantity=2),
        VariantRecord(sku="RJ-RED-M", price=Decimal("129.00"), currency="USD", attributes={"color": "red",
                      "size": "M"}, quantity=0, restock_date=today + timedelta(days=20)),
    ])
    product("trail-shell", "Trail Shell", "jacket", [
        VariantRecord(sku="TS-BLK-M", price=Decimal("79.00"), currency="USD", attributes={"color": "black",
                      "size": "M"}, quantity=0, restock_date=today + timedelta(days=10)),
    ])
    product("summit-parka", "Summit Parka", "jacket", [
        VariantRecord(sku="SP-BLU-M", price=Decimal("249.00"), currency="USD", attributes={"color": "blue",
                      "size": "M"}, quantity=4),
    ])
    product("basecamp-tent", "Basecamp Tent", "tent", [
        VariantRecord(sku="BT-GRN", price=Decimal("199.00"), currency="USD", attributes={"color": "green"},
                      quantity=7),
    ])
    commerce.upsert_order(actor=admin, record=OrderRecord(
        number="NW-100234", email="maria@example.com", placed_at=datetime(2026, 2, 20, 10, tzinfo=UTC),
        currency="USD", status="fulfilled", lines=[LineRecord(quantity=1, unit_price=Decimal("129.00"),
                                                              sku="RJ-BLK-M")],
        total=Decimal("129.00"), customer_external_id="shop-42", customer_name="Maria Garcia"))
    commerce.upsert_shipment(actor=admin, record=ShipmentRecord(
        order_number="NW-100234", carrier="UPS", tracking_number="1Z999AA10123456784", status="in_transit",
        tracking_url="https://ups.example.com/track/1Z999AA10123456784",
        shipped_at=datetime(2026, 2, 21, 9, tzinfo=UTC), estimated_delivery=today + timedelta(days=2)))
    commerce.upsert_order(actor=admin, record=OrderRecord(
        number="NW-100235", email="bob@example.com", placed_at=datetime(2026, 2, 25, 10, tzinfo=UTC),
        currency="USD", status="paid", lines=[LineRecord(quantity=1, unit_price=Decimal("199.00"), sku="BT-GRN")],
        total=Decimal("199.00"), customer_name="Bob Stone"))


def run_turns() -> list[str]:
    """Run the bot turns waiting in the task queue, as the worker would, oldest first."""
    done = []
    while True:
        pending = list(DBTaskResult.objects.filter(task_path__endswith="bot.tasks.take_turn", status="READY")
                       .order_by("enqueued_at", "id"))
        if not pending:
            return done
        for row in pending:
            row.delete()
            done.append(take_turn.call(*row.args_kwargs["args"]))


@dataclass
class Chat:
    """A customer writing on one channel; `say` returns what the bot answered to it."""

    desk: object
    channel: str = "webchat"
    sender: tuple[str, str] = ("visitor", "0f6d1c5e-5a3c-4a57-9f7e-3b6f2d1a9c01")
    verified: bool = False
    customer: object = None
    conversation_id: int | None = None

    def say(self, text: str) -> list[Message]:
        metadata = {"verified": True} if self.verified else {}
        if self.channel in ("sms", "whatsapp"):
            metadata["from"] = self.sender[1]
        seen = self._last_id()
        message, _ = conversations.receive_message(
            workspace_id=self.desk.id, channel=self.channel, sender=None if self.customer else self.sender,
            customer=self.customer, content=Content(text=text), metadata=metadata)
        self.customer = message.conversation.customer
        self.conversation_id = message.conversation_id
        run_turns()
        return list(Message.objects.filter(conversation_id=self.conversation_id, sender_type=SenderType.BOT,
                                           kind=MessageKind.OUTGOING, pk__gt=seen).order_by("pk"))

    def text(self, text: str) -> str:
        return "\n".join(m.content_text for m in self.say(text))

    def _last_id(self) -> int:
        if self.conversation_id is None:
            return 0
        return Message.objects.filter(conversation_id=self.conversation_id).order_by("-pk").values_list(
            "pk", flat=True).first() or 0

    @property
    def conversation(self) -> Conversation:
        return Conversation.objects.get(pk=self.conversation_id)


def signed_in_chat(desk, email: str = "maria@example.com", user_id: str = "shop-42") -> Chat:
    """A widget visitor the site vouched for: the customer owning their verified identities (the one
    the orders were linked to by the same email and external id)."""
    return Chat(desk, verified=True, customer=_owner(desk, email))


def _owner(desk, email: str):
    from touchpoint.customers.models import Identity

    return Identity.objects.get(workspace_id=desk.id, kind="email", value=email).customer

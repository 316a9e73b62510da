"""The bot's dialogue policy: from what the customer just wrote and what the conversation holds so far,
what to say, what to do, and when to let a person take over.

A turn reads the customer's words once: the intent classifier (with its out-of-scope verdict), the
entities (order numbers, emails, money and price ranges, dates, and the workspace's own catalog words),
a lexicon sentiment score, and the exact text of a suggested reply button. Then, in this order:

1. A suggested reply ("Talk to a person", "That's all, thanks") does what it says. An empty message (a
   file alone) goes to a person.
2. Strong negative sentiment (see `sentiment`) or a complaint: handoff.
3. A question the bot asked is answered first: an order number, an email, a product, yes/no to "shall I
   pass you to a person?". What the customer gives fills the slot even when the classifier, seeing a
   bare "NW-100234" or an email address, calls it out of scope.
4. The intent: talk_to_human → handoff; greeting / thanks / goodbye (goodbye resolves); product_search,
   stock_check and the order intents run their task with slot filling and clarifying questions;
   anything else (shipping cost, returns, opening hours, warranty, size guide, a workspace's own
   intents) and out-of-scope messages are answered from the knowledge base, or honestly not. Intents
   that need a person to act (cancel, change address, payment, refund) get the article when there is
   one, else a handoff.
5. Going nowhere hands off: two low-confidence turns in a row, or MAX_NO_PROGRESS turns in a row
   where the bot could not give anything useful.

Orders are told only after verification (`_order`): the widget's signed-in user (a message the site
vouched for with its user_hash) owning the order, or the order number together with the order's
email. A failed check says the same words whether the order does not exist or is someone else's,
and after MAX_VERIFY_ATTEMPTS failures the conversation goes to a person.

It is a scripted bot, not a language model: it cannot be talked into anything, because no customer
text ever reaches what it says (`replies.py`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from touchpoint.bot import actions
from touchpoint.bot.actions import Answer, ProductQuery
from touchpoint.bot.entities import Entities
from touchpoint.bot.replies import QUICK_DONE, QUICK_HUMAN, QUICK_NO, QUICK_YES, say

MAX_NO_PROGRESS = 3
LOW_CONFIDENCE_HANDOFF = 2  # out-of-scope turns in a row
MAX_VERIFY_ATTEMPTS = 3
MAX_TRIED = 20  # what the session remembers of its own answers (for the handoff summary)
SENTIMENT_HANDOFF = 4.0  # `sentiment` score at or above which the customer is passed to a person

ORDER_INTENTS = frozenset({"order_status", "where_is_my_order", "track_order", "delivery_status"})
PRODUCT_INTENTS = frozenset({"product_search"})
STOCK_INTENTS = frozenset({"stock_check"})
HUMAN_INTENTS = frozenset({"talk_to_human"})
COMPLAINT_INTENTS = frozenset({"complaint"})
SMALL_TALK = frozenset({"greeting", "thanks", "goodbye"})
# Intents that hand off or close the conversation: acted on only when the classifier is fairly sure.
FIRM_INTENTS = frozenset({"complaint", "talk_to_human", "goodbye"})
FIRM_CONFIDENCE = 0.5
ORDER_FOLLOW_UPS = frozenset({"delivery_time", "order_status", "where_is_my_order"})
# The customer needs someone to do something: an article may help, otherwise a person.
NEEDS_PERSON = frozenset({"cancel_order", "change_address", "payment_problem", "refund_status"})


class Reason:
    """Why the bot handed a conversation to people: a stable code and the words agents read."""

    CUSTOMER_ASKED = "customer_asked"
    COMPLAINT = "complaint"
    NEGATIVE_SENTIMENT = "negative_sentiment"
    LOW_CONFIDENCE = "low_confidence"
    NO_PROGRESS = "no_progress"
    VERIFICATION_FAILED = "verification_failed"
    NEEDS_PERSON = "needs_person"
    ATTACHMENT = "attachment"
    BOT_OFF = "bot_switched_off"

    LABELS = {
        CUSTOMER_ASKED: "the customer asked for a person",
        COMPLAINT: "a complaint",
        NEGATIVE_SENTIMENT: "the customer is upset",
        LOW_CONFIDENCE: "the bot did not understand twice in a row",
        NO_PROGRESS: "the bot made no progress",
        VERIFICATION_FAILED: "the order could not be verified",
        NEEDS_PERSON: "this needs a person to act",
        ATTACHMENT: "the customer sent a file",
        BOT_OFF: "the bot was switched off",
    }

    @classmethod
    def label(cls, code: str) -> str:
        return cls.LABELS.get(code, code.replace("_", " "))


# ---- what a turn works on ------------------------------------------------------------------------


@dataclass
class State:
    """What the bot remembers of the conversation between turns (stored on its BotSession)."""

    task: str = ""  # the intent of the task under way: product_search, stock_check, order_status
    pending: str = ""  # the question asked: product, stock_product, order_number, order_email, offer_human
    slots: dict[str, Any] = field(default_factory=dict)
    intent: str = ""  # the last intent understood
    confidence: float | None = None
    low_confidence: int = 0
    no_progress: int = 0
    verify_attempts: int = 0
    verification: str = ""  # "", verified_user, order_email
    verified_order: str = ""
    tried: list[dict] = field(default_factory=list)
    entities: dict[str, Any] = field(default_factory=dict)  # everything the customer named so far
    turns: int = 0


@dataclass(frozen=True)
class Context:
    """Facts about this conversation the dialogue may use but not change."""

    workspace_id: int
    customer_id: int
    channel: str
    bot_name: str
    verified_user: bool = False  # the widget's site vouched for this customer (user_hash)
    order_example: str = "#123456"
    first_turn: bool = False
    low_confidence_limit: int = LOW_CONFIDENCE_HANDOFF  # BotSettings.max_failures
    not_understood: str = ""  # BotSettings.not_understood_message; the built-in text when empty


@dataclass(frozen=True)
class Prediction:
    """The classifier's verdict as the dialogue reads it (touchpoint.bot.nlu.IntentPrediction or none)."""

    intent: str | None
    confidence: float
    out_of_scope: bool
    ranking: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Understanding:
    text: str
    prediction: Prediction
    entities: Entities
    sentiment: float = 0.0
    command: str = ""  # a suggested reply's button, read exactly: human, done, yes, no

    @property
    def intent(self) -> str | None:
        return None if self.prediction.out_of_scope else self.prediction.intent


@dataclass
class Plan:
    """The turn's outcome: what to say, and whether to hand off or resolve."""

    answers: list[Answer] = field(default_factory=list)
    handoff: str = ""  # a Reason code
    resolve: bool = False
    action: str = ""  # what the bot did, for the turn log and the summary
    skill_intent: str = ""  # the intent whose routing skill the handoff needs

    def say(self, answer: Answer, action: str) -> Plan:
        self.answers.append(answer)
        self.action = self.action or action
        return self


# ---- reading the customer ------------------------------------------------------------------------

COMMANDS = {
    QUICK_HUMAN.casefold(): "human", "talk to a person": "human", "talk to a human": "human", "human": "human",
    "agent": "human", "person": "human", "operator": "human", "representative": "human",
    QUICK_DONE.casefold(): "done", "that's all": "done", "thats all": "done", "that's all thanks": "done",
    "no that's all": "done", "all good": "done",
    QUICK_YES.casefold(): "yes", "yes": "yes", "yes please": "yes", "yeah": "yes", "yep": "yes", "sure": "yes",
    "ok": "yes", "okay": "yes", "please": "yes", "y": "yes",
    QUICK_NO.casefold(): "no", "no": "no", "no thanks": "no", "nope": "no", "not now": "no", "n": "no",
}
_PUNCTUATION = re.compile(r"[\s!.?,;:…]+")


def command_of(text: str) -> str:
    """A suggested reply's exact words (or a bare yes / no / "agent"), else ""."""
    key = _PUNCTUATION.sub(" ", text.casefold().replace("’", "'")).strip()
    return COMMANDS.get(key, "") if len(key) <= 40 else ""


_NEGATIVE = {
    "terrible": 2, "awful": 2, "horrible": 2, "worst": 3, "useless": 2, "ridiculous": 2, "angry": 2, "furious": 3,
    "livid": 3, "disgusted": 3, "disgusting": 3, "unacceptable": 3, "outrageous": 3, "scam": 3, "fraud": 3,
    "thieves": 3, "hate": 2, "pathetic": 2, "incompetent": 3, "disappointed": 1, "disappointing": 1,
    "frustrated": 2, "frustrating": 2, "annoyed": 1, "annoying": 1, "upset": 1, "bad": 1, "poor": 1, "stupid": 2,
    "rubbish": 2, "garbage": 2, "joke": 1, "shameful": 2, "lawyer": 3, "sue": 2, "chargeback": 2, "complain": 1,
    "sick": 1, "fed": 1, "nonsense": 2, "shit": 3, "crap": 2, "damn": 2, "wtf": 3, "fuck": 4, "fucking": 4,
    "bullshit": 4, "inacceptable": 3, "nul": 1, "arnaque": 3, "scandaleux": 3, "wütend": 3, "betrug": 3,
}
_NEGATIVE_PHRASES = {"never again": 3, "waste of money": 3, "waste of time": 2, "fed up": 2, "sick of": 2,
                     "had enough": 2, "worst service": 3, "still waiting": 1, "money back": 1}
_INTENSIFIERS = frozenset({"very", "so", "extremely", "really", "absolutely", "totally", "completely", "utterly"})
_NEGATORS = frozenset({"not", "never", "no", "isn't", "wasn't", "don't", "didn't"})
_WORDS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def sentiment(text: str) -> float:
    """How negative a message is, from a small lexicon: 0 is neutral, SENTIMENT_HANDOFF (4) and above is
    someone who should talk to a person. Each listed word or phrase adds its weight (1 mild, 2 strong,
    3 severe, 4 profanity aimed at us), half again after an intensifier ("very bad"), nothing after a
    negation ("not bad"); shouting adds 1 (three or more "!", or most words in capitals). English, with
    a few French and German words; it does not read irony."""
    sample = text[:2000]
    folded = sample.casefold().replace("’", "'")
    words = _WORDS.findall(folded)
    score = 0.0
    for i, word in enumerate(words):
        weight = _NEGATIVE.get(word)
        if weight is None:
            continue
        before = words[i - 1] if i else ""
        if before in _NEGATORS:
            continue
        score += weight * (1.5 if before in _INTENSIFIERS else 1.0)
    score += sum(weight for phrase, weight in _NEGATIVE_PHRASES.items() if phrase in folded)
    letters = [w for w in _WORDS.findall(sample) if len(w) >= 3]
    if sample.count("!") >= 3 or (len(letters) >= 3 and sum(w.isupper() for w in letters) * 2 > len(letters)):
        score += 1
    return score


def mostly_non_latin(text: str) -> bool:
    """Whether most letters are of another script than Latin (the bot's texts are English)."""
    letters = [c for c in text[:500] if c.isalpha()]
    if len(letters) < 2:
        return False
    latin = sum(1 for c in letters if "LATIN" in unicodedata.name(c, ""))
    return latin * 2 < len(letters)


# ---- the policy ----------------------------------------------------------------------------------


def respond(state: State, u: Understanding, ctx: Context) -> Plan:
    """The turn: updates `state` in place and returns what to say and do."""
    state.turns += 1
    state.intent = u.prediction.intent or ""
    state.confidence = u.prediction.confidence
    _remember_entities(state, u.entities)
    plan = _decide(state, u, ctx)
    _count_progress(state, u, plan, repeated=_asked_again(state, plan))
    if not plan.handoff and not plan.resolve:
        if state.low_confidence >= ctx.low_confidence_limit:
            plan.handoff = Reason.LOW_CONFIDENCE
        elif state.no_progress >= MAX_NO_PROGRESS:
            plan.handoff = Reason.NO_PROGRESS
    if plan.handoff:
        state.pending = ""
        plan.skill_intent = plan.skill_intent or state.task or state.intent
    for answer in plan.answers:
        state.tried.append({"intent": state.intent, "action": plan.action, "answer": answer.text[:300]})
    del state.tried[:-MAX_TRIED]
    return plan


def _decide(state: State, u: Understanding, ctx: Context) -> Plan:
    plan = Plan()
    if not u.text.strip():
        return replace(plan, handoff=Reason.ATTACHMENT, action="handoff")
    if u.command == "human":
        return replace(plan, handoff=Reason.CUSTOMER_ASKED, action="handoff")
    if u.command == "done":
        plan.resolve = True
        return plan.say(Answer(say("goodbye")), "resolved")
    if u.sentiment >= SENTIMENT_HANDOFF:
        return replace(plan, handoff=Reason.NEGATIVE_SENTIMENT, action="handoff")
    if state.pending == "offer_human" and u.command in ("yes", "no"):
        state.pending = ""
        if u.command == "yes":
            return replace(plan, handoff=Reason.CUSTOMER_ASKED, action="handoff")
        return plan.say(Answer(say("offer_declined")), "offer_declined")
    answered = _answer_pending(state, u, ctx, plan)
    if answered is not None:
        return answered
    intent = u.intent
    if intent in FIRM_INTENTS and u.prediction.confidence < FIRM_CONFIDENCE:
        intent = None  # a weak "complaint" or "goodbye" is no reason to hand off or close: read it as unclear
    if intent in COMPLAINT_INTENTS:
        return replace(plan, handoff=Reason.COMPLAINT, action="handoff", skill_intent=intent)
    if intent in HUMAN_INTENTS:
        return replace(plan, handoff=Reason.CUSTOMER_ASKED, action="handoff")
    if state.verified_order and intent in ORDER_FOLLOW_UPS:
        return _order(state, u, ctx, plan)  # "and when will it arrive?" about the order just told
    if intent == "greeting":
        return plan.say(Answer(say("greeting_reply", bot_name=ctx.bot_name)), "greeting")
    if intent == "thanks":
        return plan.say(Answer(say("thanks_reply"), quick_replies=(QUICK_DONE, QUICK_HUMAN)), "thanks")
    if intent == "goodbye":
        plan.resolve = True
        return plan.say(Answer(say("goodbye")), "resolved")
    if intent in ORDER_INTENTS or (intent is None and (u.entities.order_numbers or u.entities.emails)):
        return _order(state, u, ctx, plan)
    if intent in STOCK_INTENTS:
        return _stock(state, u, ctx, plan)
    if intent in PRODUCT_INTENTS or (intent is None and _names_products(u.entities)):
        return _products(state, u, ctx, plan)
    return _from_articles(state, u, ctx, plan, intent)


def _answer_pending(state: State, u: Understanding, ctx: Context, plan: Plan) -> Plan | None:
    """The customer's answer to the question the bot asked, when it is one."""
    pending, e = state.pending, u.entities
    if pending in ("order_number", "order_email") and (e.order_numbers or e.emails):
        return _order(state, u, ctx, plan)
    if pending == "product" and (_names_products(e) or u.intent in (None, *PRODUCT_INTENTS)):
        return _products(state, u, ctx, plan, reply_to_question=True)
    if pending == "stock_product" and u.intent in (None, *STOCK_INTENTS, *PRODUCT_INTENTS):
        return _stock(state, u, ctx, plan, reply_to_question=True)
    return None


def _names_products(e: Entities) -> bool:
    return bool(e.product_types or e.attributes or e.product_names or e.price_range)


# ---- products and stock --------------------------------------------------------------------------


def _product_query(state: State, e: Entities) -> ProductQuery:
    """The slots with this message's words over them. A new product type starts a new search (its
    colours and sizes are not the last product's); a new budget replaces the old one."""
    slots = state.slots
    if e.product_types or e.product_names:
        slots.pop("attributes", None)
        slots.pop("name", None)
    if e.product_types:
        slots["product_type"] = e.product_types[0]
    if e.product_names:
        slots["name"] = e.product_names[0]
    if e.attributes:
        slots["attributes"] = {**slots.get("attributes", {}), **{k: v[0] for k, v in e.attributes.items() if v}}
    if e.price_range is not None:
        slots["price_min"] = _text(e.price_range.minimum)
        slots["price_max"] = _text(e.price_range.maximum)
        slots["currency"] = e.price_range.currency
    return ProductQuery(product_type=slots.get("product_type"), attributes=dict(slots.get("attributes") or {}),
                        price_min=_decimal(slots.get("price_min")), price_max=_decimal(slots.get("price_max")),
                        currency=slots.get("currency"), name=slots.get("name") or "")


def _products(state: State, u: Understanding, ctx: Context, plan: Plan, *, reply_to_question: bool = False) -> Plan:
    if state.task != "product_search":
        state.task = "product_search"
        if not reply_to_question:
            for key in ("product_type", "attributes", "price_min", "price_max", "currency", "name"):
                state.slots.pop(key, None)
    query = _product_query(state, u.entities)
    if query.empty:
        if actions.catalog_is_empty(ctx.workspace_id):
            state.pending = ""
            return plan.say(Answer(say("catalog_empty"), quick_replies=(QUICK_HUMAN,), progress=False),
                            "catalog_empty")
        state.pending = "product"
        return plan.say(_ask_product(ctx, asked_before=reply_to_question), "asked_product")
    state.pending = ""
    result = actions.find_products(ctx.workspace_id, query)
    state.slots["shown_products"] = list(result.product_ids)
    action = "catalog_empty" if result.empty_catalog else ("products_widened" if result.widened else "products")
    return plan.say(result.answer, action if result.product_ids or result.empty_catalog else "products_none")


def _ask_product(ctx: Context, *, asked_before: bool) -> Answer:
    from touchpoint.commerce.selectors import catalog_vocabulary

    types = list(catalog_vocabulary(ctx.workspace_id).product_types)[:3]
    if types:
        text = say("ask_product", examples=", ".join(actions._plural(t) for t in types))
    else:
        text = say("ask_product_plain")
    return Answer(text, quick_replies=(QUICK_HUMAN,), progress=not asked_before)


def _stock(state: State, u: Understanding, ctx: Context, plan: Plan, *, reply_to_question: bool = False) -> Plan:
    e = u.entities
    shown = [int(i) for i in state.slots.get("shown_products") or []]
    attributes = {k: v[0] for k, v in e.attributes.items() if v}
    state.task = "stock_check"
    state.pending = ""
    if e.product_names:
        result = actions.check_stock(ctx.workspace_id, name=e.product_names[0], attributes=attributes)
    elif reply_to_question and not e.product_types:
        result = actions.check_stock(ctx.workspace_id, name=u.text[:200], attributes=attributes)
    elif e.product_types:
        return _products(state, u, ctx, plan)  # "are black jackets in stock?": the cards say
    elif len(shown) == 1 or state.slots.get("stock_product_id"):
        product_id = state.slots.get("stock_product_id") if len(shown) != 1 else shown[0]
        result = actions.check_stock(ctx.workspace_id, product_id=int(product_id), attributes=attributes)
    else:
        state.pending = "stock_product"
        if actions.catalog_is_empty(ctx.workspace_id):
            state.pending = ""
            return plan.say(Answer(say("catalog_empty"), quick_replies=(QUICK_HUMAN,), progress=False),
                            "catalog_empty")
        return plan.say(Answer(say("ask_stock_product"), quick_replies=(QUICK_HUMAN,),
                               progress=not reply_to_question), "asked_stock_product")
    if result.product_id is not None:
        state.slots["stock_product_id"] = result.product_id
    elif not reply_to_question:
        state.pending = "stock_product"
    return plan.say(result.answer, "stock" if result.found else "stock_unknown")


# ---- orders --------------------------------------------------------------------------------------


def _order(state: State, u: Understanding, ctx: Context, plan: Plan) -> Plan:
    """Slot filling for an order lookup, then verification, then the answer (see the module's rule)."""
    e, slots = u.entities, state.slots
    asked = state.pending  # asking again for what was asked already is no progress
    state.task = "order_status"
    if e.order_numbers:
        if e.order_numbers[0] != slots.get("order_number"):
            slots.pop("order_email", None)
        slots["order_number"] = e.order_numbers[0]
    if e.emails:
        slots["order_email"] = e.emails[0]
    number = slots.get("order_number") or ""
    if state.verified_order and number in ("", state.verified_order):
        return _tell_order(state, ctx, plan, state.verified_order, inferred=False)
    if ctx.verified_user:
        inferred = not number
        if inferred:
            number = actions.latest_order_number(ctx.workspace_id, ctx.customer_id)
            if not number:
                state.pending = "order_number"
                return plan.say(Answer(say("order_no_orders"), quick_replies=(QUICK_HUMAN,)), "asked_order_number")
        order = actions.verified_order(ctx.workspace_id, order_number=number, customer_id=ctx.customer_id)
        if order is not None:
            state.verification = "verified_user"
            return _tell_order(state, ctx, plan, order.number, inferred=inferred, order=order)
        if not slots.get("order_email"):
            state.verify_attempts += 1  # not theirs (or none such): it may be a guest order, so ask
            if state.verify_attempts >= MAX_VERIFY_ATTEMPTS:
                return _verification_failed(state, plan)
            state.pending = "order_email"
            return plan.say(Answer(say("ask_order_email")), "asked_order_email")
    if not number:
        state.pending = "order_number"
        return plan.say(Answer(say("ask_order_number", example=ctx.order_example), quick_replies=(QUICK_HUMAN,),
                               progress=asked != "order_number"), "asked_order_number")
    email = slots.get("order_email")
    if not email:
        state.pending = "order_email"
        return plan.say(Answer(say("ask_order_email"), progress=asked != "order_email"), "asked_order_email")
    order = actions.verified_order(ctx.workspace_id, order_number=number, email=email)
    if order is None:
        state.verify_attempts += 1
        slots.pop("order_email", None)
        if state.verify_attempts >= MAX_VERIFY_ATTEMPTS:
            return _verification_failed(state, plan)
        state.pending = "order_email"
        return plan.say(Answer(say("order_not_verified"), quick_replies=(QUICK_HUMAN,), progress=False),
                        "verification_failed")
    state.verification = "order_email"
    return _tell_order(state, ctx, plan, order.number, inferred=False, order=order)


def _verification_failed(state: State, plan: Plan) -> Plan:
    state.pending = ""
    plan.say(Answer(say("order_not_verified_last"), progress=False), "verification_failed")
    plan.handoff = Reason.VERIFICATION_FAILED
    return plan


def _tell_order(state: State, ctx: Context, plan: Plan, number: str, *, inferred: bool, order=None) -> Plan:
    if order is None:  # verified earlier in this conversation: read it again, with the same proof
        order = actions.verified_order(
            ctx.workspace_id, order_number=number,
            customer_id=ctx.customer_id if state.verification == "verified_user" else None,
            email=state.slots.get("order_email") if state.verification == "order_email" else None)
        if order is None:  # it changed hands or went away since: start again
            state.verified_order = ""
            state.verification = ""
            state.pending = "order_number"
            return plan.say(Answer(say("ask_order_number", example=ctx.order_example)), "asked_order_number")
    state.verified_order = order.number
    state.pending = ""
    return plan.say(actions.order_answer(order, other_hint=inferred), "order_status")


# ---- the knowledge base --------------------------------------------------------------------------


def _from_articles(state: State, u: Understanding, ctx: Context, plan: Plan, intent: str | None) -> Plan:
    if intent is None and mostly_non_latin(u.text):
        state.pending = "offer_human"
        return plan.say(Answer(say("other_language"), quick_replies=(QUICK_YES, QUICK_NO), progress=False),
                        "other_language")
    if intent is not None:
        state.task = intent  # what a person taking over would need to know (and its routing skill)
    result = actions.answer_from_articles(ctx.workspace_id, u.text)
    if result.article_id is not None:
        state.pending = ""
        state.slots["article_id"] = result.article_id
        return plan.say(result.answer, "article")
    if intent in NEEDS_PERSON:
        return replace(plan, handoff=Reason.NEEDS_PERSON, action="handoff", skill_intent=intent)
    state.pending = "offer_human"
    text = say("no_article") if intent is not None else (ctx.not_understood.strip() or say("not_understood"))
    return plan.say(Answer(text, quick_replies=(QUICK_HUMAN,) if intent is None else (QUICK_YES, QUICK_NO),
                           progress=False), "no_answer" if intent is not None else "not_understood")


# ---- bookkeeping ---------------------------------------------------------------------------------


def _asked_again(state: State, plan: Plan) -> bool:
    """The bot asks a question it asked in its last few turns: the task is not moving."""
    return plan.action.startswith("asked_") and any(step["action"] == plan.action for step in state.tried[-4:])


def _count_progress(state: State, u: Understanding, plan: Plan, *, repeated: bool = False) -> None:
    """Low confidence counts out-of-scope turns in a row that nothing else rescued (a slot filled, an
    article found); no progress counts turns in a row whose answers gave nothing useful (asking again
    what was asked before is nothing useful)."""
    useful = any(answer.progress for answer in plan.answers) and not repeated
    rescued = useful and plan.action not in ("not_understood", "no_answer", "other_language")
    if u.prediction.out_of_scope and not rescued and not u.command:
        state.low_confidence += 1
    else:
        state.low_confidence = 0
    if plan.answers and not useful:
        state.no_progress += 1
    elif useful or plan.resolve:
        state.no_progress = 0


def _remember_entities(state: State, e: Entities) -> None:
    """What the customer named, for the handoff summary. Emails are kept masked: agents see that one was
    given, the customer's record already holds their real addresses."""
    seen = state.entities
    named = e.as_dict()
    for key in ("order_numbers", "product_types", "product_names", "dates"):
        if named[key]:
            seen[key] = list(dict.fromkeys([*seen.get(key, []), *named[key]]))[-5:]
    if named["emails"]:
        seen["emails"] = list(dict.fromkeys([*seen.get("emails", []), *(mask_email(m) for m in named["emails"])]))[-3:]
    if named["attributes"]:
        seen["attributes"] = {**seen.get("attributes", {}), **named["attributes"]}
    if named["price_range"]:
        seen["price_range"] = named["price_range"]
    if named["money"]:
        seen["money"] = named["money"][-3:]


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}…@{domain}" if domain else "…"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: object) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None

"""The demo store: "Northwind Outfitters", an online outdoor-clothing shop with a busy desk.

What it holds: one admin, one supervisor and eight agents with teams (Orders, Returns, Billing, VIP)
and skills; a few hundred customers with identities on every channel, custom attributes and consent;
a few thousand conversations over the last 90 days on email, web chat, SMS, WhatsApp, voice and the
API, mostly resolved, some open, pending or snoozed, with agent replies, internal notes, tags and
system events.

Everything is made from a fixed random seed, with times counted back from the start of today (UTC),
so two loads on the same day are identical and the demo always covers "the last 90 days". All
history lies before the start of today; only snooze wake-ups lie in the future.

This is a history import, not live traffic. The workspace and the people are created through
`accounts.services`, like any admin would; the history (customers, identities, conversations,
messages, tags) is bulk-inserted in one transaction, because replaying thousands of conversations
through the services would take minutes and would publish live events (notifications, routing,
analytics) for things that happened weeks ago. The import therefore writes what the services would
have left behind: `first_response_at` is the first agent reply, `waiting_since` is set exactly when
the customer's message is the last public one, `resolved_at` follows the last message, and
`last_message_at` / `last_message_preview` describe the last public message. The tests check these
invariants with queries.
"""

from __future__ import annotations

import random
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction

from touchpoint.accounts import services as accounts
from touchpoint.accounts.models import Membership, Team, User, Workspace
from touchpoint.accounts.selectors import actor_for
from touchpoint.bot.demo import load_bot_demo
from touchpoint.commerce.demo import load_commerce_demo
from touchpoint.conversations.models import (
    Channel,
    Conversation,
    Message,
    MessageKind,
    Priority,
    SenderType,
    Status,
    Tag,
)
from touchpoint.core.clock import now
from touchpoint.core.html import text_to_html
from touchpoint.core.permissions import Role
from touchpoint.customers.identities import normalize
from touchpoint.customers.models import Customer, Identity, IdentityKind
from touchpoint.knowledge.demo import load_demo_articles
from touchpoint.routing import services as routing

DEMO_SLUG = "northwind"
DEMO_NAME = "Northwind Outfitters"
DEMO_DOMAIN = "northwind.example"
DEMO_URL = "http://127.0.0.1:8000"
SEED = 20240611
HISTORY_DAYS = 90
DEFAULT_CUSTOMERS = 500
DEFAULT_CONVERSATIONS = 3000


# ---- the people ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    name: str
    login: str
    password: str
    teams: tuple[str, ...] = ()
    skills: dict[str, int] = field(default_factory=dict)

    @property
    def email(self) -> str:
        return f"{self.login}@{DEMO_DOMAIN}"

    @property
    def first_name(self) -> str:
        return self.name.split()[0]


ADMIN = Person("Nora Lindqvist", "nora", "northwind-admin")
SUPERVISOR = Person("Sam Okafor", "sam", "northwind-super")
AGENT_PASSWORD = "northwind-agent"
AGENTS = (
    Person("Ana Ortiz", "ana", AGENT_PASSWORD, ("Orders", "Returns"),
           {"English": 5, "Spanish": 5, "Orders": 4, "Returns": 3}),
    Person("Ben Carter", "ben", AGENT_PASSWORD, ("Orders",), {"English": 5, "Orders": 5, "Voice": 4}),
    Person("Chloé Martin", "chloe", AGENT_PASSWORD, ("Returns", "VIP"),
           {"English": 4, "French": 5, "Returns": 5}),
    Person("Dev Patel", "dev", AGENT_PASSWORD, ("Billing",), {"English": 5, "Billing": 5, "Orders": 2}),
    Person("Elif Yilmaz", "elif", AGENT_PASSWORD, ("Orders", "Billing"),
           {"English": 4, "German": 4, "Billing": 3, "Orders": 3}),
    Person("Felix Braun", "felix", AGENT_PASSWORD, ("Returns",),
           {"English": 4, "German": 5, "Returns": 4, "Voice": 3}),
    Person("Grace Kim", "grace", AGENT_PASSWORD, ("VIP", "Billing"),
           {"English": 5, "Billing": 4, "Returns": 4, "Voice": 2}),
    Person("Hugo Rossi", "hugo", AGENT_PASSWORD, ("Orders", "Returns"),
           {"English": 4, "Italian": 5, "Orders": 3, "Voice": 5}),
)
TEAMS = ("Orders", "Returns", "Billing", "VIP")
# Desk hours in the workspace's time zone: the week plus a short Saturday.
BUSINESS_HOURS = {
    **{day: [["08:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    "sat": [["09:00", "17:00"]],
}


# ---- what customers write about ----------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    """One reason to contact the store, with what each side typically says about it.

    A thread is the customer's first message with the agent's first answer to it; follow-ups are
    (question, answer) pairs that fit after any thread of the topic."""

    key: str
    team: str | None
    tags: tuple[str, ...]
    weight: int
    subjects: tuple[str, ...]
    threads: tuple[tuple[str, str], ...]
    followups: tuple[tuple[str, str], ...]
    asks: tuple[str, ...]  # the agent asks for something and waits on the customer (pending)
    notes: tuple[str, ...]  # internal notes, agents only
    high_priority: float = 0.1  # share of conversations marked high
    order_related: bool = True


TOPICS: tuple[Topic, ...] = (
    Topic(
        "order_status", "Orders", ("order-status",), 20,
        subjects=("Where is my order {order}?", "Order {order} not arrived yet", "Any update on my order?",
                  "Tracking hasn't moved for days"),
        threads=(
            ("I ordered the {item} on {date} (order {order}) and it still hasn't arrived. Can you tell me where it is?",
             "I've checked order {order}: it left our warehouse on {date} with {carrier} (tracking {tracking}). "
             "The carrier expects to deliver it in {city} within 1–2 working days."),
            ("My tracking number {tracking} has said 'in transit' for four days now. Is my parcel lost?",
             "Sorry for the wait! Your parcel was held up at the sorting centre; {carrier} now expects to deliver it on {day}."),
            ("Could you check the status of order {order}? I need it before the weekend.",
             "Your parcel is with {carrier} and was scanned at their {city} hub this morning, so it should reach you by {day}."),
            ("I got an email saying my order shipped but the {carrier} link doesn't show anything yet.",
             "Carriers can take up to a day to show a new parcel online. Order {order} is with {carrier} under tracking "
             "number {tracking} and should arrive by {day}."),
        ),
        followups=(
            ("Thanks. The tracking page still shows nothing new though. Is that normal?",
             "The public tracking page can lag by a day; the carrier's own scans show it moving. I'll keep an eye on it."),
            ("OK, but I won't be home on {day}. Can they leave it with a neighbour?",
             "I've asked {carrier} to leave it with a neighbour or at the nearest pickup point if you're out."),
            ("It now says delivered but there's nothing at my door.",
             "I'm sorry about that. I've opened a trace with {carrier}; if it doesn't turn up within 48 hours we'll send "
             "a replacement at no cost."),
        ),
        asks=(
            "Could you confirm the delivery address on the order, in case the carrier has it wrong?",
            "Could you check with your neighbours or building reception? Carriers sometimes leave parcels there. "
            "Let me know either way.",
        ),
        notes=(
            "Carrier trace opened with {carrier}, reference {tracking}. Check again in 48 h.",
            "Warehouse confirms the parcel left on {date}. Nothing stuck on our side.",
        ),
    ),
    Topic(
        "address_change", "Orders", ("address-change",), 7,
        subjects=("Change delivery address for {order}", "Wrong address on my order", "Can I update my shipping address?"),
        threads=(
            ("I just placed order {order} and realised it's going to my old address. Can you change it to {street}, {city}?",
             "Good timing: order {order} hadn't been packed yet, so I've updated the address to {street}, {city}."),
            ("Can the delivery address on {order} still be changed? I'm moving this week; the new one is {street}, {city}.",
             "The parcel is already with {carrier}, so I've asked them to redirect it to {street}, {city}. "
             "That can add a day to the delivery."),
            ("I made a typo in my house number on order {order}. The right address is {street}, {city}.",
             "I've corrected the address on {order}. You'll get a new shipping confirmation once it leaves the warehouse."),
        ),
        followups=(
            ("Great, will the delivery date stay the same?", "It may take one extra day, so expect it by {day}."),
            ("Thanks! Can you also change the phone number for the courier?",
             "Done, the courier will call the new number on the day of delivery."),
        ),
        asks=("Could you send me the full new address including the postcode, so I can pass it to {carrier}?",),
        notes=("Redirect requested in the {carrier} portal; their reference is {tracking}.",),
    ),
    Topic(
        "cancel_order", "Orders", ("cancellation",), 6,
        subjects=("Cancel order {order}", "Please cancel my order", "Ordered twice by mistake"),
        threads=(
            ("Please cancel order {order}, I ordered the wrong colour of the {item}.",
             "I've cancelled order {order}. The refund of {amount} goes back to your original payment method within "
             "3–5 working days."),
            ("I accidentally ordered the {item} twice. Could you cancel one of the orders?",
             "I've cancelled the duplicate order {order}; the other one ships as planned."),
            ("Is it still possible to cancel {order}? I found the {item} in a shop near me.",
             "Order {order} has already shipped, so I can't cancel it any more, but you can return it free of charge "
             "within 30 days once it arrives."),
        ),
        followups=(
            ("Thanks for the quick reply. Will I get an email confirming this?",
             "Yes, a confirmation email is on its way to you now."),
            ("Can I still use my discount code on a new order?",
             "Yes, the code is released again, so you can use it on your next order."),
        ),
        asks=("Could you tell me which of your orders you'd like to keep? I'll leave that one untouched.",),
        notes=("Cancelled before picking; no restocking needed.",),
    ),
    Topic(
        "return_request", "Returns", ("return",), 14,
        subjects=("Return for order {order}", "How do I return an item?", "Return label not working",
                  "Returning the {item}"),
        threads=(
            ("I'd like to return the {item} from order {order}, it doesn't suit me. How do I do that?",
             "Of course. I've emailed you a prepaid {carrier} return label for order {order}; drop the parcel at any "
             "{carrier} point within 30 days."),
            ("The return label in my parcel won't scan at the {carrier} drop-off. What should I do?",
             "Sorry about the label. I've generated a new one with a fresh code; you'll find it in your inbox."),
            ("I want to return the {item} but I've lost the delivery note. Is that a problem?",
             "Not at all, the delivery note isn't needed. I've emailed you a prepaid return label linked to order {order}."),
            ("Can I return an item bought in the sale? It's the {item}.",
             "Yes, sale items can be returned within 30 days like everything else. I've emailed you a prepaid {carrier} label."),
        ),
        followups=(
            ("When will the refund show up on my card?",
             "Refunds reach your card 3–5 working days after we've checked the return."),
            ("Do I need to include the original packaging?", "Any sturdy packaging works; please just keep the tags on."),
            ("Do I need to print the label or can I show it on my phone?",
             "{carrier} accepts the QR code on your phone, no printing needed."),
        ),
        asks=(
            "Could you let me know which items you're sending back, so I can prepare the return?",
            "Could you confirm the email address on the order? I'd like to send the label there.",
        ),
        notes=(
            "Return for {order} arrived at the warehouse on {date}; quality check pending.",
            "Customer is 2 days over the 30-day window; accepting as a goodwill gesture.",
        ),
    ),
    Topic(
        "sizing_exchange", "Returns", ("sizing", "exchange"), 9,
        subjects=("Exchange for a different size", "The {item} is too small", "Swap size {size} for {size2}"),
        threads=(
            ("The {item} I ordered in {size} is too small. Can I exchange it for a {size2}?",
             "We have the {item} in {size2}. I've reserved one and emailed you a free return label for the {size}; "
             "we'll ship the new one as soon as {carrier} scans your return."),
            ("Your size guide said {size} but the {item} is tight across the shoulders. Can I swap it for a {size2}?",
             "Sorry it doesn't fit! The {size2} is available and I've set up the exchange on order {order}; "
             "a return label is in your inbox."),
            ("I'd like to exchange the {item} (order {order}) for the next size up. Is {size2} in stock?",
             "The {size2} is sold out right now, but it's back in stock on {day}. I've reserved one for you; "
             "if you'd rather have a refund, just say."),
        ),
        followups=(
            ("How long will the new one take to arrive?",
             "Exchanges ship the day your return is scanned, so 2–3 days in total; the {size2} is reserved for you meanwhile."),
            ("Does the {item} run small in general? I want to get it right this time.",
             "Yes, it's a slim fit; most customers go one size up, so the {size2} should be right."),
        ),
        asks=("Could you tell me your usual chest and waist measurements, so I can check the {size2} is right?",),
        notes=("Reserved one {item} in {size2} against the exchange on {order}.",),
    ),
    Topic(
        "damaged_item", "Returns", ("damaged",), 7,
        subjects=("Damaged item received", "The {item} arrived broken", "Faulty zip on my {item}"),
        threads=(
            ("The {item} from order {order} arrived with a tear in the sleeve. Very disappointed.",
             "I'm so sorry. I've sent a replacement {item} in {size} by express delivery; you don't need to send the "
             "damaged one back."),
            ("The zip on my new {item} broke the first time I used it.",
             "That shouldn't happen. I've arranged a replacement and emailed a prepaid label to return the faulty one."),
            ("My parcel was crushed and the {item} inside is damaged. What can you do?",
             "I'm sorry about that. I've refunded {amount} for the {item} in full; you can keep or recycle the damaged one."),
        ),
        followups=(
            ("Thank you, that was quick. Do you need photos?", "No need, thanks; I've logged it with our quality team."),
            ("Thanks. Will I get an email about this?", "Yes, you'll get a confirmation by email within the hour."),
        ),
        asks=("Could you send a photo of the damage and of the parcel? It helps us claim it from {carrier}.",),
        notes=(
            "Third damaged {item} this month; flagged to the quality team.",
            "Damage claim filed with {carrier}, reference {tracking}.",
        ),
        high_priority=0.5,
    ),
    Topic(
        "wrong_item", "Returns", ("wrong-item",), 4,
        subjects=("Wrong item in my parcel", "I received someone else's order", "Wrong colour delivered"),
        threads=(
            ("I ordered the {item} in navy but received it in olive. Order {order}.",
             "Sorry for the mix-up! The right {item} goes out today by express, and I've emailed you a label for the wrong one."),
            ("My parcel contained a completely different product, not the {item} I ordered.",
             "Apologies, that's a picking error on our side. Your replacement ships today and arrives by {day}; "
             "a return label for the other item is in your inbox."),
        ),
        followups=(
            ("Do I have to send the wrong one back first?",
             "No, keep it until the right one has arrived, then send it back with the label whenever suits you."),
        ),
        asks=("Could you send a photo of the label on the item you received? It tells us which order it belongs to.",),
        notes=("Picking error: bin location mix-up reported to the warehouse lead.",),
    ),
    Topic(
        "refund_status", "Billing", ("refund",), 11,
        subjects=("Where is my refund?", "Refund for order {order}", "Still waiting for my money back"),
        threads=(
            ("I returned order {order} two weeks ago but haven't received my refund of {amount} yet.",
             "I can see your return arrived, but the refund hadn't been triggered. I've issued {amount} now; "
             "sorry for the delay."),
            ("You said my refund was processed on {date} but nothing has appeared on my card.",
             "Your refund of {amount} was issued on {date}. Banks usually take 3–5 working days to show it, so it "
             "should be on your statement by {day}."),
            ("How long do refunds take? I sent back the {item} last week.",
             "Refunds are issued within 5 working days of your return reaching us. Yours arrived on {date}, "
             "so it's due by {day}."),
        ),
        followups=(
            ("Still nothing on my card. Can you send me a proof of the refund?",
             "I've emailed you the refund confirmation with the transaction reference; your bank can trace it with that."),
            ("Will the shipping cost be refunded too?", "Yes, as a goodwill gesture I've included the original shipping cost."),
        ),
        asks=("Could you tell me the last four digits of the card you paid with, so I can match the transaction?",),
        notes=(
            "Refund stuck in the payment provider's queue; re-triggered manually.",
            "Goodwill: refunded shipping on top of {amount}.",
        ),
    ),
    Topic(
        "discount_code", "Billing", ("discount-code",), 6,
        subjects=("Discount code not working", "{code} code invalid", "Forgot to use my discount code"),
        threads=(
            ("The code {code} from your newsletter says it's invalid at checkout.",
             "The code {code} excludes sale items, which is why it was refused. I've applied 10% to your basket manually instead."),
            ("I forgot to enter my discount code {code} on order {order}. Can you still apply it?",
             "I've refunded the {code} discount on order {order}; it will be back on your card in a few days."),
            ("Does {code} work on sale items?",
             "Codes can't be combined with sale prices, sorry. It works on anything at full price until the end of the month."),
        ),
        followups=(
            ("Thanks! Can I use it again on my next order?",
             "It's single-use, but you'll get a new one with our next newsletter."),
        ),
        asks=("Could you send me a screenshot of the error at checkout?",),
        notes=("{code} was set up with a minimum spend by mistake; marketing has fixed it.",),
        high_priority=0.0,
    ),
    Topic(
        "payment_issue", "Billing", ("payment", "billing"), 5,
        subjects=("Charged twice for order {order}", "Payment failed but money taken", "Problem with my invoice"),
        threads=(
            ("I've been charged twice for order {order} ({amount} each time). Please refund one.",
             "You're right, the payment went through twice. I've refunded the duplicate {amount}."),
            ("The payment failed at checkout but the money has left my account.",
             "What you see is only a pre-authorisation; your bank releases it within 5 days. You haven't been charged."),
            ("I need an invoice with my company name for order {order}.",
             "I've sent a corrected invoice for {order} with your company name to your email address."),
        ),
        followups=(
            ("Thanks, can you also send me a copy of the receipt?", "Of course, it's on its way to your inbox."),
        ),
        asks=("Could you send a screenshot of the charges on your statement (with other lines hidden)?",),
        notes=("Duplicate capture confirmed in the payment provider's dashboard.",),
        high_priority=0.4,
    ),
    Topic(
        "size_advice", None, ("sizing", "pre-sale"), 6,
        subjects=("Which size should I get?", "Size advice for the {item}", "Question about fit"),
        threads=(
            ("I'm usually a {size} but between sizes. Which size of the {item} would you recommend?",
             "The {item} is cut slim, so if you're between sizes I'd go for the {size2}."),
            ("Is the {item} true to size? I'd like to wear it over a thick jumper.",
             "It's true to size with room for a thin mid layer; for a thick jumper, go one size up."),
        ),
        followups=(
            ("And the sleeves, are they long?", "Sleeves are on the longer side, so they cover the wrists when you reach forward."),
            ("Can I return it if it doesn't fit?", "Yes, returns are free within 30 days."),
        ),
        asks=("Could you tell me your height and chest measurement? Then I can recommend a size precisely.",),
        notes=("Pre-sale sizing question; no order yet.",),
        high_priority=0.0,
        order_related=False,
    ),
    Topic(
        "stock_question", None, ("stock", "pre-sale"), 4,
        subjects=("When is the {item} back in stock?", "Restock date?", "Out of stock in {size}"),
        threads=(
            ("The {item} has been out of stock in {size} for weeks. Will it come back?",
             "The next delivery of the {item} arrives on {day}. You can sign up for an email alert on the product page."),
            ("Do you know when the {item} will be restocked in green?",
             "That colour is discontinued, I'm afraid, but the {item} in charcoal is available in {size}."),
        ),
        followups=(
            ("Will the price stay the same?", "Yes, the price doesn't change when an item is restocked."),
        ),
        asks=("Which size were you after? Some sizes come back sooner than others.",),
        notes=("Buyer confirms the restock in week {week}.",),
        high_priority=0.0,
        order_related=False,
    ),
)

TOPIC_WEIGHTS = [t.weight for t in TOPICS]

SECOND_THOUGHTS = (
    "Sorry, forgot to say: it's order {order}.",
    "Also, I need it for a trip on {day}.",
    "My email is the one on the order, if that helps.",
)
THANKS = (
    "Thanks a lot, that's great!",
    "Perfect, thank you for your help.",
    "Brilliant, thanks for sorting that so quickly.",
    "OK thanks.",
    "Thank you, much appreciated!",
)
CLOSERS = (
    "You're welcome! I'll close this conversation now; just reply if anything else comes up.",
    "Glad I could help. Enjoy your {item}!",
    "My pleasure. Have a lovely day!",
)
SNOOZE_REPLIES = (
    "I've asked our warehouse team to check and will get back to you by {day}.",
    "I'm waiting for {carrier} to confirm; I'll come back to you on {day} at the latest.",
)

ITEMS = (  # singular, so "the {item} is too small" reads right
    "merino crew sweater", "waxed cotton jacket", "down vest", "linen shirt", "wool beanie", "rain shell",
    "canvas backpack", "fleece pullover", "insulated parka", "flannel shirt", "packable puffer", "leather belt",
    "hooded sweatshirt", "quilted gilet", "softshell jacket", "cord skirt",
)
SIZES = ("XS", "S", "M", "L", "XL", "XXL")
CARRIERS = {"GB": ("Royal Mail", "DPD", "Evri"), "US": ("UPS", "USPS", "FedEx"), "FR": ("Colissimo", "Chronopost"),
            "DE": ("DHL", "Hermes"), "AT": ("Post AT", "DHL"), "ES": ("Correos", "SEUR"), "IT": ("BRT", "Poste Italiane"),
            "NL": ("PostNL", "DHL"), "IE": ("An Post", "DPD"), "AU": ("Australia Post", "StarTrack")}
CODES = ("WELCOME10", "SPRING15", "FREESHIP", "NEWSLETTER20", "TRAIL25", "LOYAL15")
STREETS = ("Mill Lane", "Station Road", "Church Street", "Park Avenue", "High Street", "Harbour Way", "Elm Close")


# ---- who the customers are -----------------------------------------------------------------------


@dataclass(frozen=True)
class Country:
    code: str
    language: str
    currency: str
    weight: int
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    cities: tuple[str, ...]


_EN_FIRST = ("Olivia", "James", "Amelia", "Jack", "Isla", "Noah", "Emily", "Liam", "Sophie", "Harry", "Grace",
             "Oscar", "Chloe", "Ethan", "Ava", "Mason", "Ruby", "Lucas", "Mia", "Daniel")
_EN_LAST = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Evans", "Walker",
            "Wright", "Thompson", "Hughes", "Green", "Clarke", "Murphy", "Kelly", "Baker", "Hall", "Moore")
COUNTRIES = (
    Country("GB", "en", "GBP", 26, _EN_FIRST, _EN_LAST, ("London", "Manchester", "Leeds", "Bristol", "Glasgow")),
    Country("US", "en", "USD", 16, _EN_FIRST, _EN_LAST, ("Portland", "Denver", "Boston", "Austin", "Seattle")),
    Country("IE", "en", "EUR", 4, _EN_FIRST, _EN_LAST, ("Dublin", "Cork", "Galway")),
    Country("AU", "en", "AUD", 3, _EN_FIRST, _EN_LAST, ("Sydney", "Melbourne", "Brisbane")),
    Country("FR", "fr", "EUR", 14,
            ("Camille", "Louis", "Léa", "Hugo", "Manon", "Jules", "Chloé", "Gabriel", "Inès", "Arthur", "Zoé", "Théo"),
            ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
             "Lefèvre", "Fournier"), ("Paris", "Lyon", "Marseille", "Lille", "Nantes", "Bordeaux")),
    Country("DE", "de", "EUR", 14,
            ("Lukas", "Anna", "Leon", "Lena", "Finn", "Marie", "Jonas", "Laura", "Paul", "Hannah", "Felix", "Julia"),
            ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Schulz",
             "Koch", "Richter"), ("Berlin", "Hamburg", "Munich", "Cologne", "Leipzig", "Freiburg")),
    Country("AT", "de", "EUR", 3,
            ("Lukas", "Anna", "Tobias", "Sarah", "David", "Katharina"),
            ("Gruber", "Huber", "Bauer", "Wagner", "Pichler", "Steiner"), ("Vienna", "Graz", "Salzburg", "Innsbruck")),
    Country("ES", "es", "EUR", 9,
            ("Lucía", "Hugo", "Martina", "Mateo", "Sofía", "Pablo", "Carmen", "Javier", "Elena", "Diego"),
            ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Romero", "Navarro"),
            ("Madrid", "Barcelona", "Valencia", "Seville", "Bilbao")),
    Country("IT", "it", "EUR", 6,
            ("Giulia", "Leonardo", "Sofia", "Francesco", "Aurora", "Alessandro", "Giorgia", "Lorenzo"),
            ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci"),
            ("Milan", "Turin", "Bologna", "Florence", "Rome")),
    Country("NL", "nl", "EUR", 5,
            ("Daan", "Emma", "Sem", "Julia", "Lucas", "Tess", "Bram", "Sanne"),
            ("de Jong", "Jansen", "de Vries", "van Dijk", "Bakker", "Visser", "Smit", "Meijer"),
            ("Amsterdam", "Utrecht", "Rotterdam", "Eindhoven", "Groningen")),
)
CURRENCY_SIGN = {"GBP": "£", "USD": "$", "EUR": "€", "AUD": "A$"}
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example")
PLANS = (("standard", 70), ("plus", 22), ("vip", 8))


def _phone_number(rng: random.Random, country: str) -> str:
    """A number of the right shape for the country, in ranges set aside for fiction where one exists."""
    digits = lambda n: "".join(str(rng.randrange(10)) for _ in range(n))  # noqa: E731
    return {
        "GB": lambda: "+447700" + digits(6),  # Ofcom's drama range 07700 900xxx and neighbours
        "US": lambda: f"+1{rng.choice(('202', '212', '312', '415', '503', '617'))}555{digits(4)}",
        "IE": lambda: "+35385" + digits(7),
        "AU": lambda: "+614915" + digits(5),
        "FR": lambda: "+3363998" + digits(4),  # ARCEP's fiction range 06 39 98 xx xx
        "DE": lambda: "+49151" + digits(8),
        "AT": lambda: "+43664" + digits(7),
        "ES": lambda: "+346" + digits(8),
        "IT": lambda: "+393" + digits(9),
        "NL": lambda: "+316" + digits(8),
    }[country]()


def _day_month(at: datetime) -> str:
    return f"{at.day} {at:%B}"


def _ascii(value: str) -> str:
    return unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower().replace(" ", "")


# ---- the plan: pure, deterministic data; the loader turns it into rows -------------------------


@dataclass
class CustomerPlan:
    row: Customer
    country: Country
    plan: str
    first_name: str
    channels: list[str]  # channels this customer can be reached on, by their identities
    identities: list[Identity] = field(default_factory=list)
    activity: float = 1.0  # how often they get in touch, relative to others


@dataclass
class Step:
    """One message in a conversation, in time order."""

    at: datetime
    kind: str
    text: str
    author: Membership | None = None
    metadata: dict = field(default_factory=dict)
    external_id: str = ""


@dataclass
class ConversationPlan:
    row: Conversation
    customer: CustomerPlan
    steps: list[Step]
    tags: tuple[str, ...]


@dataclass
class People:
    workspace: Workspace
    admin: Membership
    supervisor: Membership
    agents: list[Membership]
    teams: dict[str, Team]
    team_agents: dict[str, list[Membership]]


@dataclass(frozen=True)
class DemoSummary:
    workspace: Workspace
    created: bool  # False when the demo workspace was there already
    customers: int
    conversations: int
    messages: int
    seconds: float = 0.0


def demo_workspace() -> Workspace | None:
    return Workspace.objects.filter(slug=DEMO_SLUG).first()


def load_demo(
    *, customers: int = DEFAULT_CUSTOMERS, conversations: int = DEFAULT_CONVERSATIONS, seed: int = SEED,
    today: datetime | None = None, reset: bool = False,
) -> DemoSummary:
    """Create the demo workspace unless it exists; with `reset`, delete it first and build it again.
    Other workspaces are never touched."""
    started = time.monotonic()
    existing = demo_workspace()
    if existing is not None and not reset:
        return _summary(existing, created=False)
    today = (today or now()).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rng = random.Random(seed)
    with transaction.atomic():
        if existing is not None:
            delete_demo(existing)
        people = _create_people()
        customer_plans = _plan_customers(rng, customers, today)
        conversation_plans = _plan_conversations(rng, customer_plans, conversations, people, today)
        _insert(people.workspace, customer_plans, conversation_plans)
        load_demo_articles(people.workspace, author=people.supervisor, today=today, seed=seed)  # help center
        load_commerce_demo(people.workspace, today=today, seed=seed)  # catalog, stock, order history
        load_bot_demo(people.workspace, supervisor=people.supervisor)  # the bot, trained: it answers first
    return _summary(people.workspace, created=True, seconds=time.monotonic() - started)


def _summary(workspace: Workspace, *, created: bool, seconds: float = 0.0) -> DemoSummary:
    return DemoSummary(
        workspace=workspace, created=created, seconds=seconds,
        customers=Customer.objects.filter(workspace=workspace).count(),
        conversations=Conversation.objects.filter(workspace=workspace).count(),
        messages=Message.objects.filter(workspace=workspace).count(),
    )


def delete_demo(workspace: Workspace) -> None:
    """Delete the demo workspace and everything in it, children first (messages and conversations
    protect their customer, so a plain cascade from the workspace would refuse). Demo users who
    belong to no other workspace go too, so the printed passwords hold after a reset."""
    assert workspace.slug == DEMO_SLUG, "only the demo workspace is ever deleted"
    user_ids = list(Membership.objects.filter(workspace=workspace).values_list("user_id", flat=True))
    Message.objects.filter(workspace=workspace).delete()
    Conversation.objects.filter(workspace=workspace).delete()
    workspace.delete()
    User.objects.filter(pk__in=user_ids, memberships__isnull=True).delete()


def _create_people() -> People:
    """The workspace, its staff, teams and skills: through the services, as an admin would set them up."""
    workspace, admin = accounts.create_workspace(
        name=DEMO_NAME, slug=DEMO_SLUG, admin_email=ADMIN.email, admin_password=ADMIN.password, admin_name=ADMIN.name,
        timezone="Europe/London",
    )
    admin_actor = actor_for(admin)
    workspace = accounts.update_workspace_settings(actor=admin_actor, workspace=workspace, business_hours=BUSINESS_HOURS)
    supervisor = accounts.seed_member(workspace=workspace, email=SUPERVISOR.email, password=SUPERVISOR.password,
                                      display_name=SUPERVISOR.name, role=Role.SUPERVISOR)
    supervisor_actor = actor_for(supervisor)
    agents = [
        accounts.seed_member(workspace=workspace, email=p.email, password=p.password, display_name=p.name, role=Role.AGENT)
        for p in AGENTS
    ]
    teams = {name: accounts.create_team(actor=supervisor_actor, name=name) for name in TEAMS}
    team_agents = {name: [a for a, p in zip(agents, AGENTS, strict=True) if name in p.teams] for name in TEAMS}
    for name, team in teams.items():
        accounts.set_team_members(actor=supervisor_actor, team=team, members=team_agents[name])
    skills = {name: accounts.create_skill(actor=supervisor_actor, name=name)
              for name in sorted({s for p in AGENTS for s in p.skills})}
    for agent, person in zip(agents, AGENTS, strict=True):
        for skill, level in person.skills.items():
            accounts.set_agent_skill(actor=supervisor_actor, membership=agent, skill=skills[skill], proficiency=level)
    _set_up_routing(supervisor_actor, teams)
    return People(workspace, admin, supervisor, agents, teams, team_agents)


def _set_up_routing(actor, teams: dict[str, Team]) -> None:
    """Queues and SLA policies as a supervisor would set them, so the wallboard, the router and the
    SLA clocks have work as soon as a demo chat or mail arrives (agents start offline: it waits)."""
    for position, (name, channels, team, required) in enumerate((
        ("Orders chat", ["webchat", "sms", "whatsapp"], "Orders", {"Orders": 2}),
        ("Returns chat", ["webchat", "sms", "whatsapp"], "Returns", {"Returns": 2}),
        ("Chat and messaging", ["webchat", "sms", "whatsapp"], None, {"English": 3}),
        ("Email", ["email", "api"], None, {"English": 2}),
    )):
        routing.save_queue(actor=actor, name=name, position=position, channels=channels,
                           team=teams[team] if team else None, required_skills=required,
                           sticky_wait_s=60, overflow_after_s=180 if team else None)
    minute, hour = 60, 3600
    for position, (name, fields) in enumerate((
        ("Urgent", {"priorities": ["urgent", "high"], "first_response_s": 15 * minute,
                    "next_response_s": 30 * minute, "resolution_s": 8 * hour,
                    "escalation": [{"when": "at_risk", "action": "notify"},
                                   {"when": "breached", "action": "raise_priority"}]}),
        ("Live chat", {"channels": ["webchat"], "first_response_s": 2 * minute, "next_response_s": 5 * minute}),
        ("Email and messages", {"channels": ["email", "sms", "whatsapp", "api"], "first_response_s": 4 * hour,
                                "next_response_s": 8 * hour, "resolution_s": 48 * hour, "business_hours": True}),
    )):
        routing.save_sla_policy(actor=actor, name=name, position=position, **fields)


# ---- customers --------------------------------------------------------------------------------


def _plan_customers(rng: random.Random, count: int, today: datetime) -> list[CustomerPlan]:
    plans: list[CustomerPlan] = []
    taken: set[tuple[str, str]] = set()
    for i in range(count):
        country = rng.choices(COUNTRIES, weights=[c.weight for c in COUNTRIES])[0]
        first, last = rng.choice(country.first_names), rng.choice(country.last_names)
        plan = rng.choices([p for p, _ in PLANS], weights=[w for _, w in PLANS])[0]
        signed_up = today - timedelta(days=rng.randint(1, 900), seconds=rng.randint(0, 86399))
        anonymous = rng.random() < 0.04  # a chat visitor who never gave a name or an email
        row = Customer(
            name="" if anonymous else f"{first} {last}", language=country.language,
            custom_attributes={} if anonymous else _attributes(rng, country, plan, signed_up),
            consent={} if anonymous else _consent(rng, signed_up),
            created_at=signed_up, updated_at=signed_up,
        )
        customer = CustomerPlan(row=row, country=country, plan=plan, first_name="" if anonymous else first, channels=[],
                                activity=min(rng.paretovariate(1.6), 12.0) * (2.0 if plan == "vip" else 1.0))
        _plan_identities(rng, customer, first, last, i, anonymous, taken)
        plans.append(customer)
    return plans


def _attributes(rng: random.Random, country: Country, plan: str, signed_up: datetime) -> dict:
    low, high = {"standard": (20, 600), "plus": (300, 2000), "vip": (1500, 12000)}[plan]
    orders = {"standard": rng.randint(1, 6), "plus": rng.randint(4, 15), "vip": rng.randint(12, 60)}[plan]
    return {
        "plan": plan, "country": country.code, "lifetime_value": round(rng.uniform(low, high), 2),
        "currency": country.currency, "orders_count": orders, "customer_since": signed_up.date().isoformat(),
    }


def _consent(rng: random.Random, signed_up: datetime) -> dict:
    at = signed_up.isoformat()
    consent = {"email_marketing": {"granted": rng.random() < 0.55, "at": at, "source": "checkout"}}
    if rng.random() < 0.6:
        consent["surveys"] = {"granted": rng.random() < 0.8, "at": at, "source": "account settings"}
    if rng.random() < 0.3:
        consent["sms_marketing"] = {"granted": rng.random() < 0.5, "at": at, "source": "checkout"}
    return consent


def _plan_identities(
    rng: random.Random, customer: CustomerPlan, first: str, last: str, index: int, anonymous: bool,
    taken: set[tuple[str, str]],
) -> None:
    def add(kind: str, value: str, *, verified: bool = False) -> None:
        value = normalize(kind, value)
        if (kind, value) in taken:
            return
        taken.add((kind, value))
        customer.identities.append(Identity(customer=customer.row, kind=kind, value=value, verified=verified,
                                            created_at=customer.row.created_at))

    if anonymous:
        add(IdentityKind.VISITOR, f"v_{rng.getrandbits(48):012x}")
        customer.channels = [Channel.WEBCHAT]
        return
    handle = f"{_ascii(first)}.{_ascii(last)}"
    add(IdentityKind.EMAIL, f"{handle}{index if rng.random() < 0.5 else ''}@{rng.choice(EMAIL_DOMAINS)}", verified=True)
    add(IdentityKind.EXTERNAL, f"shop-{100000 + index * 7}", verified=True)
    channels = [Channel.EMAIL, Channel.API]
    if rng.random() < 0.6:
        add(IdentityKind.PHONE, _phone_number(rng, customer.country.code))
        channels += [Channel.SMS, Channel.VOICE] + ([Channel.WHATSAPP] if rng.random() < 0.7 else [])
    if rng.random() < 0.55:
        add(IdentityKind.VISITOR, f"v_{rng.getrandbits(48):012x}")
        channels.append(Channel.WEBCHAT)
    if rng.random() < 0.15:
        add(IdentityKind.SOCIAL, f"instagram:@{handle}")
    customer.channels = channels


# ---- conversations ----------------------------------------------------------------------------

CHANNEL_WEIGHTS = {Channel.EMAIL: 34, Channel.WEBCHAT: 26, Channel.WHATSAPP: 12, Channel.SMS: 7, Channel.VOICE: 11,
                   Channel.API: 10}
# (status, shape, share): open-new has no reply yet, open-waiting has the customer writing again,
# open-answered has the agent's reply last without anyone having set it pending.
OUTCOMES = (
    (Status.RESOLVED, "resolved", 80), (Status.OPEN, "new", 5), (Status.OPEN, "waiting", 4),
    (Status.OPEN, "answered", 2), (Status.PENDING, "pending", 5), (Status.SNOOZED, "snoozed", 4),
)
AGENT_HOURS = (7, 19)  # UTC hours the desk answers in
# How long the first answer takes, in minutes (low, high), by channel.
REPLY_DELAY = {Channel.WEBCHAT: (1, 8), Channel.WHATSAPP: (4, 90), Channel.SMS: (5, 120), Channel.VOICE: (1, 3),
               Channel.EMAIL: (25, 1500), Channel.API: (25, 1500)}
FOLLOWUP_DELAY = {Channel.WEBCHAT: (1, 5), Channel.WHATSAPP: (10, 360), Channel.SMS: (10, 360), Channel.VOICE: (1, 3),
                  Channel.EMAIL: (60, 1800), Channel.API: (60, 1800)}
LETTER_CHANNELS = (Channel.EMAIL, Channel.API)  # written like letters, with a greeting and a signature


def _plan_conversations(
    rng: random.Random, customers: list[CustomerPlan], count: int, people: People, today: datetime
) -> list[ConversationPlan]:
    plans: list[ConversationPlan] = []
    unresolved: set[tuple[int, str]] = set()  # one unresolved conversation per customer and channel
    weights = [c.activity for c in customers]
    for i in range(count):
        index = rng.choices(range(len(customers)), weights=weights)[0]
        customer = customers[index]
        status, shape = _pick_outcome(rng)
        channel = _pick_channel(rng, customer)
        if status != Status.RESOLVED:
            if (index, channel) in unresolved:
                status, shape = Status.RESOLVED, "resolved"
            else:
                unresolved.add((index, channel))
        plans.append(_plan_conversation(rng, i, customer, channel, status, shape, people, today))
    for customer in customers:  # a customer exists before they first write
        mine = [p.row.created_at for p in plans if p.customer is customer]
        if mine:
            first = min(mine)
            customer.row.created_at = min(customer.row.created_at, first - timedelta(minutes=rng.randint(5, 40000)))
            customer.row.updated_at = max(mine)
        for identity in customer.identities:
            identity.created_at = customer.row.created_at
    return plans


def _pick_outcome(rng: random.Random) -> tuple[str, str]:
    status, shape, _ = rng.choices(OUTCOMES, weights=[w for *_, w in OUTCOMES])[0]
    return status, shape


def _pick_channel(rng: random.Random, customer: CustomerPlan) -> str:
    return rng.choices(customer.channels, weights=[CHANNEL_WEIGHTS[c] for c in customer.channels])[0]


def _plan_conversation(
    rng: random.Random, number: int, customer: CustomerPlan, channel: str, status: str, shape: str, people: People,
    today: datetime,
) -> ConversationPlan:
    topic = rng.choices(TOPICS, weights=TOPIC_WEIGHTS)[0]
    vip = customer.plan == "vip"
    team_name = "VIP" if vip else topic.team
    assignee = _pick_assignee(rng, people, team_name, shape)
    start = _start_time(rng, today, status, shape, channel)
    ctx = _context(rng, customer, start, assignee)
    snoozed_until = None
    if status == Status.SNOOZED:
        snoozed_until = today + timedelta(days=rng.randint(1, 3), hours=rng.choice((9, 10, 14)))
    steps = _plan_steps(rng, number, topic, channel, shape, assignee, people, start, ctx, snoozed_until)
    steps = _fit_before(steps, today, today - timedelta(days=HISTORY_DAYS))
    row = _conversation_row(rng, customer, channel, status, topic, ctx, steps, assignee, people, team_name, vip)
    row.snoozed_until = snoozed_until
    return ConversationPlan(row=row, customer=customer, steps=steps, tags=topic.tags + (("vip",) if vip else ()))


def _pick_assignee(rng: random.Random, people: People, team_name: str | None, shape: str) -> Membership | None:
    if shape == "new" and rng.random() < 0.6:
        return None  # still in the unassigned queue
    pool = people.team_agents[team_name] if team_name else people.agents
    return rng.choice(pool)


def _start_time(rng: random.Random, today: datetime, status: str, shape: str, channel: str) -> datetime:
    """When the customer first wrote: any time in the 90 days for resolved work, recent for the backlog."""
    if status == Status.RESOLVED:
        day = rng.randint(1, HISTORY_DAYS - 1)
    elif shape == "new":
        day = rng.randint(1, 2)
    else:
        day = rng.randint(1, 6)
    hours = range(8, 18) if channel == Channel.VOICE else range(24)
    hour_weights = [3 if 9 <= h <= 21 else 1 for h in hours]
    hour = rng.choices(hours, weights=hour_weights)[0]
    return today - timedelta(days=day) + timedelta(hours=hour, minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))


def _context(rng: random.Random, customer: CustomerPlan, start: datetime, assignee: Membership | None) -> dict[str, str]:
    country = customer.country
    size_index = rng.randrange(len(SIZES) - 1)
    amount = rng.choice((24.9, 39.0, 49.5, 64.9, 89.0, 119.0, 149.0, 189.0, 229.0))
    sign = CURRENCY_SIGN[country.currency]
    return {
        "first": customer.first_name, "agent": assignee.display_name.split()[0] if assignee else "",
        "order": f"NW-{rng.randint(100000, 999999)}", "item": rng.choice(ITEMS),
        "size": SIZES[size_index], "size2": SIZES[size_index + 1],
        "carrier": rng.choice(CARRIERS[country.code]), "tracking": f"{rng.randint(10**11, 10**12 - 1)}",
        "amount": f"{sign}{amount:.2f}", "code": rng.choice(CODES), "city": rng.choice(country.cities),
        "street": f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
        "date": _day_month(start - timedelta(days=rng.randint(2, 9))),
        "day": (start + timedelta(days=rng.randint(2, 4))).strftime("%A"),
        "week": str((start + timedelta(days=rng.randint(10, 30))).isocalendar().week),
    }


def _plan_steps(
    rng: random.Random, number: int, topic: Topic, channel: str, shape: str, assignee: Membership | None,
    people: People, start: datetime, ctx: dict[str, str], snoozed_until: datetime | None,
) -> list[Step]:
    opener, first_answer = rng.choice(topic.threads)
    steps = [_customer_step(rng, number, 0, channel, start, opener.format(**ctx), ctx)]
    if assignee is not None:
        steps.append(Step(start + timedelta(seconds=rng.randint(20, 90)), MessageKind.EVENT,
                          f"Touchpoint assigned this to {assignee.display_name}."))
    if rng.random() < 0.1:  # a second message before anyone answered
        at = _after(rng, steps[-1].at, FOLLOWUP_DELAY[Channel.WEBCHAT])
        steps.append(_customer_step(rng, number, 1, channel, at, rng.choice(SECOND_THOUGHTS).format(**ctx), ctx))
    if shape == "new":
        return steps
    agent = assignee or rng.choice(people.agents)
    steps.append(_agent_step(channel, agent, _reply_time(rng, steps[-1].at, channel), first_answer.format(**ctx), ctx))
    if rng.random() < 0.25:
        author = people.supervisor if rng.random() < 0.2 else agent
        steps.append(Step(steps[-1].at + timedelta(minutes=rng.randint(1, 6)), MessageKind.NOTE,
                          rng.choice(topic.notes).format(**ctx), author=author))
    _plan_followups(rng, number, topic, channel, shape, agent, ctx, steps)
    if shape != "waiting":
        _plan_ending(rng, number, topic, channel, shape, agent, ctx, snoozed_until, steps)
    return steps


def _plan_followups(
    rng: random.Random, number: int, topic: Topic, channel: str, shape: str, agent: Membership, ctx: dict[str, str],
    steps: list[Step],
) -> None:
    """Zero to two more rounds; when the customer is left waiting, their last question is unanswered."""
    rounds = rng.choices((0, 1, 2), weights=(50, 35, 15))[0]
    if shape == "waiting":
        rounds = max(rounds, 1)
    for seq, (question, answer) in enumerate(rng.sample(topic.followups, min(rounds, len(topic.followups))), start=2):
        at = _after(rng, steps[-1].at, FOLLOWUP_DELAY[channel])
        steps.append(_customer_step(rng, number, seq, channel, at, question.format(**ctx), ctx))
        if shape == "waiting" and seq - 1 == min(rounds, len(topic.followups)):
            return
        steps.append(_agent_step(channel, agent, _reply_time(rng, steps[-1].at, channel), answer.format(**ctx), ctx))


def _plan_ending(
    rng: random.Random, number: int, topic: Topic, channel: str, shape: str, agent: Membership, ctx: dict[str, str],
    snoozed_until: datetime | None, steps: list[Step],
) -> None:
    soon = steps[-1].at + timedelta(minutes=rng.randint(1, 5))
    if shape == "pending":
        steps.append(_agent_step(channel, agent, soon, rng.choice(topic.asks).format(**ctx), ctx))
        steps.append(Step(soon + timedelta(seconds=10), MessageKind.EVENT, f"{agent.display_name} set it to pending."))
    elif shape == "snoozed":
        steps.append(_agent_step(channel, agent, soon, rng.choice(SNOOZE_REPLIES).format(**ctx), ctx))
        steps.append(Step(soon + timedelta(seconds=10), MessageKind.EVENT,
                          f"{agent.display_name} snoozed it until {snoozed_until:%Y-%m-%d %H:%M} UTC."))
    elif shape == "resolved":
        if rng.random() < 0.5:
            at = _after(rng, steps[-1].at, FOLLOWUP_DELAY[Channel.WEBCHAT])
            steps.append(_customer_step(rng, number, 8, channel, at, rng.choice(THANKS), ctx))
            steps.append(_agent_step(channel, agent, _reply_time(rng, at, channel), rng.choice(CLOSERS).format(**ctx), ctx))
        resolved_at = steps[-1].at + timedelta(minutes=rng.randint(1, 240))
        steps.append(Step(resolved_at, MessageKind.EVENT, f"{agent.display_name} set it to resolved."))


def _customer_step(
    rng: random.Random, number: int, seq: int, channel: str, at: datetime, text: str, ctx: dict[str, str]
) -> Step:
    if channel in LETTER_CHANNELS and seq == 0:
        text = f"Hello,\n\n{text}\n\nThanks,\n{ctx['first'] or 'A customer'}"
    external_id, metadata = "", {}
    if channel == Channel.EMAIL:
        external_id = f"<nw{number}.{seq}.{rng.getrandbits(32):08x}@mail.example>"
    elif channel == Channel.SMS:
        external_id = f"SM{rng.getrandbits(128):032x}"
    elif channel == Channel.WHATSAPP:
        external_id = f"wamid.{rng.getrandbits(96):024X}"
    elif channel == Channel.VOICE:
        metadata = {"duration_s": rng.randint(45, 900), "direction": "inbound"} if seq == 0 else {}
        text = f"Inbound call: {text}" if seq == 0 else text
    elif channel == Channel.WEBCHAT:
        metadata = {"page": f"/products/{ctx['item'].replace(' ', '-')}"}
    elif channel == Channel.API:
        metadata = {"source": "order-portal"}
    return Step(at, MessageKind.INCOMING, text, metadata=metadata, external_id=external_id)


def _agent_step(channel: str, agent: Membership, at: datetime, text: str, ctx: dict[str, str]) -> Step:
    if channel in LETTER_CHANNELS:
        greeting = f"Hi {ctx['first']}," if ctx["first"] else "Hello,"
        text = f"{greeting}\n\n{text}\n\nBest regards,\n{agent.display_name.split()[0]}\nNorthwind Outfitters Customer Care"
    return Step(at, MessageKind.OUTGOING, text, author=agent)


def _after(rng: random.Random, at: datetime, minutes: tuple[int, int]) -> datetime:
    return at + timedelta(minutes=rng.randint(*minutes), seconds=rng.randint(0, 59))


def _reply_time(rng: random.Random, after: datetime, channel: str) -> datetime:
    """An agent answers after a channel-typical delay, and only during desk hours."""
    at = _after(rng, after, REPLY_DELAY[channel])
    opens, closes = AGENT_HOURS
    if at.hour >= closes:
        at = (at + timedelta(days=1)).replace(hour=opens, minute=0) + timedelta(minutes=rng.randint(0, 90))
    elif at.hour < opens:
        at = at.replace(hour=opens, minute=0) + timedelta(minutes=rng.randint(0, 90))
    return at


def _fit_before(steps: list[Step], end: datetime, earliest: datetime) -> list[Step]:
    """Move a conversation back by whole days until it is over before `end` (the start of today);
    whole days keep the replies inside desk hours."""
    overflow = steps[-1].at - end
    if overflow >= timedelta(0):
        shift = timedelta(days=overflow.days + 1)
        steps = [Step(s.at - shift, s.kind, s.text, s.author, s.metadata, s.external_id) for s in steps]
    assert steps[0].at >= earliest - timedelta(days=5), "a demo conversation starts long before its 90 days"
    return steps


def _conversation_row(
    rng: random.Random, customer: CustomerPlan, channel: str, status: str, topic: Topic, ctx: dict[str, str],
    steps: list[Step], assignee: Membership | None, people: People, team_name: str | None, vip: bool,
) -> Conversation:
    public = [s for s in steps if s.kind in (MessageKind.INCOMING, MessageKind.OUTGOING)]
    last = public[-1]
    outgoing = [s for s in public if s.kind == MessageKind.OUTGOING]
    waiting_since = None
    if last.kind == MessageKind.INCOMING and status != Status.RESOLVED:
        after_reply = [s for s in public if s.kind == MessageKind.INCOMING and (not outgoing or s.at > outgoing[-1].at)]
        waiting_since = after_reply[0].at
    resolved_at = steps[-1].at if status == Status.RESOLVED else None
    priority = Priority.HIGH if (vip or rng.random() < topic.high_priority) else Priority.NORMAL
    if rng.random() < 0.03:
        priority = Priority.URGENT
    elif priority == Priority.NORMAL and not topic.order_related and rng.random() < 0.4:
        priority = Priority.LOW
    return Conversation(
        customer=customer.row, channel=channel, subject=rng.choice(topic.subjects).format(**ctx)[:255], status=status,
        priority=priority, team=people.teams[team_name] if team_name else None,
        assignee=assignee, custom_fields={"order_number": ctx["order"]} if topic.order_related else {},
        waiting_since=waiting_since, first_response_at=outgoing[0].at if outgoing else None,
        first_resolved_at=resolved_at, resolved_at=resolved_at, last_message_at=last.at,
        last_message_preview=last.text.replace("\n", " ")[:200], created_at=steps[0].at,
        updated_at=max(s.at for s in steps),
    )


# ---- writing it all -------------------------------------------------------------------------


def _insert(workspace: Workspace, customers: list[CustomerPlan], conversations: list[ConversationPlan]) -> None:
    """Bulk inserts, parents first; the caller holds the transaction."""
    for c in customers:
        c.row.workspace = workspace
    Customer.objects.bulk_create([c.row for c in customers], batch_size=500)
    identities = [i for c in customers for i in c.identities]
    for identity in identities:
        identity.workspace = workspace
    Identity.objects.bulk_create(identities, batch_size=500)

    tag_names = sorted({t for p in conversations for t in p.tags})
    tags = {t.name: t for t in Tag.objects.bulk_create([Tag(workspace=workspace, name=n) for n in tag_names])}
    for p in conversations:
        p.row.workspace = workspace
    Conversation.objects.bulk_create([p.row for p in conversations], batch_size=500)
    through = Conversation.tags.through
    Conversation.tags.through.objects.bulk_create(
        [through(conversation_id=p.row.pk, tag_id=tags[name].pk) for p in conversations for name in p.tags],
        batch_size=1000,
    )
    Message.objects.bulk_create(_messages(workspace, conversations), batch_size=1000)


def _messages(workspace: Workspace, conversations: Sequence[ConversationPlan]) -> list[Message]:
    sender = {MessageKind.INCOMING: SenderType.CUSTOMER, MessageKind.OUTGOING: SenderType.AGENT,
              MessageKind.NOTE: SenderType.AGENT, MessageKind.EVENT: SenderType.SYSTEM}
    return [
        Message(
            workspace=workspace, conversation=p.row, customer=p.customer.row, kind=s.kind, sender_type=sender[s.kind],
            author=s.author, channel=p.row.channel, content_html=text_to_html(s.text), content_text=s.text,
            external_id=s.external_id, metadata=s.metadata, created_at=s.at,
            delivery_status="delivered" if s.kind == MessageKind.OUTGOING and p.row.channel != Channel.VOICE else "",
        )
        for p in conversations
        for s in p.steps
    ]


def logins() -> list[tuple[str, str, str]]:
    """(role, email, password) to print after loading."""
    return [("admin", ADMIN.email, ADMIN.password), ("supervisor", SUPERVISOR.email, SUPERVISOR.password)] + [
        ("agent", p.email, p.password) for p in AGENTS[:1]
    ]

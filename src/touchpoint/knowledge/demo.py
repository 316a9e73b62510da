"""The demo store's help center: about forty articles for Northwind Outfitters, an online outdoor-clothing
shop (shipping, returns, sizing and care, orders and payments, warranty), five of them in French, two
internal notes for agents, and a month of help-center activity (searches, article views, "Did this
help?" answers) so the deflection figures have something to show.

Like the rest of the demo this is a history import: rows are bulk-inserted (the full-text index is kept
by the database's triggers) and the embeddings are left to one background task, so loading stays fast
and identical on every run of the same day."""

import random
import uuid
from datetime import datetime, timedelta

from touchpoint.accounts.models import Membership, Workspace
from touchpoint.conversations.models import Conversation
from touchpoint.customers.models import Identity, IdentityKind
from touchpoint.knowledge import embeddings
from touchpoint.knowledge.models import (
    Article,
    ArticleFeedback,
    ArticleStatus,
    ArticleView,
    Audience,
    Category,
    KnowledgeIndex,
    SearchLog,
    SearchSource,
)
from touchpoint.knowledge.services import clean_title, render_body_into

CATEGORIES = {
    "shipping": ("en", "Shipping & delivery", "Delivery times, costs, tracking and where we ship."),
    "returns": ("en", "Returns & refunds", "Sending something back, exchanges and when your money arrives."),
    "sizing": ("en", "Sizing & product care", "Finding your size and keeping your gear in shape."),
    "orders": ("en", "Orders & payments", "Changing an order, paying, discount codes and invoices."),
    "warranty": ("en", "Warranty & repairs", "What our guarantee covers and how repairs work."),
    "fr-livraison": ("fr", "Livraison", "Délais, frais et suivi des colis."),
    "fr-retours": ("fr", "Retours et remboursements", "Renvoyer un article et être remboursé."),
}

# (category, slug, title, Markdown body)
ARTICLES: list[tuple[str, str, str, str]] = [
    ("shipping", "delivery-times", "How long does delivery take?",
     "Orders placed before 2 pm (UK time) on a working day leave our warehouse the same day.\n\n"
     "| Service | United Kingdom | Europe | Rest of the world |\n|---|---|---|---|\n"
     "| Standard | 2–3 working days | 4–6 working days | 7–12 working days |\n"
     "| Express | next working day | 2–3 working days | 3–5 working days |\n\n"
     "Public holidays and remote areas (Scottish Highlands, islands) can add a day or two."),
    ("shipping", "shipping-costs", "What does shipping cost?",
     "Standard delivery in the UK is **£3.95**, free on orders over £60. Express delivery is £7.95.\n\n"
     "Europe: standard £8.95 (free over £120), express £15.95. Rest of the world: from £19.95, shown at "
     "checkout before you pay. Oversized items such as tents and sleeping mats ship at the standard price."),
    ("shipping", "track-your-order", "How do I track my order?",
     "As soon as your parcel leaves the warehouse we email you a tracking number and a link to the "
     "carrier's tracking page. You can also find it under **My account → Orders**.\n\n"
     "Tracking can take up to 24 hours to show the first scan. If nothing has moved for three working "
     "days, write to us with your order number and we will ask the carrier."),
    ("shipping", "countries-we-ship-to", "Which countries do you ship to?",
     "We ship to the United Kingdom, every country of the European Union, Norway, Switzerland, the United "
     "States, Canada, Australia and New Zealand.\n\nOrders to Switzerland, Norway and outside Europe may "
     "be charged import duties and taxes by your country's customs on arrival; we cannot pay these for you."),
    ("shipping", "parcel-not-arrived", "My parcel has not arrived",
     "First check the tracking link in your shipping email: it shows whether the parcel was delivered, "
     "left with a neighbour or taken to a pickup point.\n\nIf the tracking says delivered but you cannot "
     "find it, check with neighbours and your building's reception, then contact us within 14 days. We "
     "open an investigation with the carrier and send a replacement or refund once it is confirmed lost."),
    ("shipping", "change-delivery-address", "Can I change the delivery address?",
     "You can change the address while the order is still **Processing**: open the order in My account "
     "and choose *Edit address*, or send us the order number and the new address.\n\nOnce the order has "
     "shipped we can ask the carrier to redirect it, but most carriers only deliver to the address on the label."),
    ("shipping", "click-and-collect", "Click & collect and pickup points",
     "Choose a pickup point at checkout to collect your parcel from a nearby shop or locker, free on "
     "every order. You get a code by email and text when it is ready; bring the code and a photo ID.\n\n"
     "Parcels wait 7 days at a pickup point, then come back to us and are refunded."),
    ("shipping", "split-deliveries", "Why did my order arrive in several parcels?",
     "When some items ship from our partner warehouse, your order arrives in two or more parcels, each "
     "with its own tracking number. You pay shipping once, however many parcels it takes."),
    ("returns", "how-to-return", "How do I return an item?",
     "You can return unworn items with their tags within **60 days** of delivery.\n\n"
     "1. Open the order in My account and choose *Return items*.\n"
     "2. Pick the items and a reason, then print the prepaid return label (or show the QR code at a drop-off point).\n"
     "3. Pack the items and drop the parcel at any post office or parcel shop.\n\n"
     "Returns from the UK are free; from other countries the label costs £5.95, taken from your refund."),
    ("returns", "refund-time", "When will I get my refund?",
     "We refund within 3 working days of the return reaching our warehouse, to the card or account you "
     "paid with. Your bank may take another 3–5 working days to show it.\n\nYou get an email when the "
     "refund is made. Gift cards are refunded as a new gift card code."),
    ("returns", "exchange-size", "Can I exchange an item for another size?",
     "Yes. Choose *Exchange* instead of *Return* in My account, pick the new size, and we ship it as soon "
     "as your return is scanned by the carrier, so you do not wait for it to reach us. Exchanges are free."),
    ("returns", "faulty-item", "I received a faulty or wrong item",
     "We are sorry. Send us a photo of the fault or of the item you received and its label, with your "
     "order number. We send a replacement straight away and a prepaid label for the faulty item; you do "
     "not pay for anything."),
    ("returns", "return-worn-items", "Can I return something I have worn?",
     "Clothing and footwear must be unworn and unwashed, with tags attached, so we can sell it again. You "
     "may try boots indoors on a clean carpet.\n\nIf something fails in normal use, that is covered by our "
     "warranty instead: see *What does the Northwind guarantee cover?*"),
    ("returns", "return-gift", "Returning a gift",
     "Use the gift receipt's order number on our returns page. The refund goes onto a gift card for you, "
     "and the person who bought it is not told."),
    ("returns", "refund-missing", "My refund has not arrived",
     "Check the refund email: it gives the date and amount. Banks take up to 5 working days after that "
     "date. If it is longer, send us the refund email and we will give you the payment reference your bank "
     "can trace."),
    ("sizing", "size-guide", "Finding your size",
     "Every product page has a size guide with body measurements in centimetres and inches. Measure your "
     "chest at its widest, your waist at its narrowest and your inside leg from crotch to ankle.\n\nBetween "
     "two sizes? Choose the larger for jackets you will layer over a fleece, the smaller for base layers."),
    ("sizing", "boot-sizing", "How do your walking boots fit?",
     "Our walking boots fit true to UK size with room for a thick hiking sock. If you have wide feet, "
     "choose the *Wide* fit or go half a size up.\n\nWalk downhill in the shop or on stairs at home: your "
     "toes should not touch the front. Boots need a few short walks to soften before a long hike."),
    ("sizing", "waterproof-jacket-care", "Washing a waterproof jacket",
     "Wash it when it gets dirty: dirt stops the fabric breathing. Close all zips and Velcro, then wash at "
     "30 °C with a technical wash, never fabric softener.\n\nTumble dry on low for 20 minutes or iron on a "
     "low setting through a towel: gentle heat brings back the water repellency. When water stops beading, "
     "reproof with a spray-on treatment."),
    ("sizing", "down-jacket-care", "Caring for down jackets and sleeping bags",
     "Wash down at 30 °C on a gentle cycle with a down wash. Dry it on low heat with two clean tennis balls "
     "for several hours until no clumps remain. Store sleeping bags loose in their storage sack, never "
     "compressed."),
    ("sizing", "boot-care", "Looking after leather boots",
     "Brush off mud after each walk and let boots dry at room temperature, away from radiators and fires, "
     "which crack leather. Every few months clean them and apply a wax or leather conditioner to keep them "
     "waterproof."),
    ("sizing", "merino-care", "Washing merino wool",
     "Merino needs washing less often than synthetics. Wash inside out at 30 °C on a wool cycle and dry "
     "flat. Do not tumble dry: merino shrinks."),
    ("sizing", "kids-sizes", "Children's sizes",
     "Children's sizes go by age and height. When in doubt go up a size: our children's jackets have sleeve "
     "cuffs that turn back, so they last an extra season."),
    ("orders", "payment-methods", "Which payment methods do you accept?",
     "We accept Visa, Mastercard, American Express, PayPal, Apple Pay, Google Pay and Klarna (pay in three "
     "instalments, UK only). Your card is charged when the order ships, not when you place it."),
    ("orders", "cancel-order", "Can I cancel my order?",
     "You can cancel while the order is **Processing**, in My account or by writing to us. Once it has "
     "shipped it cannot be stopped; return it instead for a full refund."),
    ("orders", "discount-code", "My discount code does not work",
     "Check the code's end date and minimum order value in the email it came in. Codes are one per order "
     "and do not apply to sale items or gift cards. If it still fails, send us the code and we will look."),
    ("orders", "invoice", "How do I get an invoice?",
     "A VAT invoice is attached to your shipping confirmation email and can be downloaded from the order in "
     "My account. For a company name or VAT number on it, add them to your account before ordering."),
    ("orders", "payment-declined", "My payment was declined",
     "Payments are declined by the bank, not by us. Check the card number, expiry date, security code and "
     "billing address, then try again, or use another method. Your bank may also ask you to confirm the "
     "payment in its app."),
    ("orders", "price-match", "Do you price match?",
     "If you find the same item cheaper at a UK retailer within 7 days of buying, send us the link and we "
     "refund the difference. Marketplaces, clearance sales and member prices are excluded."),
    ("orders", "gift-cards", "Gift cards",
     "Gift cards are sent by email, from £10 to £500, and never expire. Use the code at checkout; any "
     "amount left stays on the card. They cannot be exchanged for cash."),
    ("warranty", "guarantee", "What does the Northwind guarantee cover?",
     "Everything we sell is guaranteed against faults in materials and making for **two years**; our own "
     "Northwind-brand jackets and boots for **five years**.\n\nThe guarantee covers failed seams, zips, "
     "soles coming away and delamination. It does not cover normal wear, accidents, or damage from washing "
     "against the care label."),
    ("warranty", "make-a-claim", "How do I make a warranty claim?",
     "Write to us with your order number, photos of the fault and a few words about how it happened. We "
     "answer within two working days with a repair, a replacement or a refund, and a prepaid label."),
    ("warranty", "repairs", "Repairs after the guarantee",
     "Our repair partner fixes zips, seams, buckles and worn soles at a fixed price, even after the "
     "guarantee. A repair usually takes three weeks. We would rather repair your gear than see it thrown away."),
    ("warranty", "zip-broken", "The zip on my jacket broke",
     "If the jacket is under guarantee, send us a photo of the zip and we arrange a free repair or a "
     "replacement. A slider that no longer closes the teeth can often be fixed by gently squeezing it with "
     "pliers."),
    ("warranty", "waterproof-leaking", "My waterproof jacket is leaking",
     "Most \"leaks\" are condensation from inside, or the fabric wetting out because its water repellency "
     "has worn off. Wash and reproof the jacket first (see *Washing a waterproof jacket*). If water still "
     "comes through, make a warranty claim."),
]
INTERNAL: list[tuple[str, str, str]] = [
    ("goodwill-credit", "Goodwill credit: when and how much (internal)",
     "Agents may offer a goodwill credit without asking a supervisor:\n\n- late delivery beyond the promised "
     "date: £5, or refund the shipping;\n- a lost parcel confirmed by the carrier: £10 plus the replacement;\n"
     "- a second fault on the same item: £15.\n\nAnything above £20 needs a supervisor. Tag the conversation "
     "`goodwill` so finance can reconcile."),
    ("chargebacks", "Handling chargebacks and payment disputes (internal)",
     "When the payment provider tells us about a dispute, do not refund the customer directly: the bank "
     "would pay twice. Add a note with the order number and tracking, tag `chargeback`, and assign to the "
     "Billing team, who answers the provider within 7 days."),
]
FRENCH: list[tuple[str, str, str, str, str]] = [
    # (category, slug, title, body, slug of the English original)
    ("fr-livraison", "delais-de-livraison", "Quels sont les délais de livraison ?",
     "Les commandes passées avant 14 h (heure de Londres) un jour ouvré partent le jour même.\n\nEn Europe, la "
     "livraison standard prend 4 à 6 jours ouvrés et la livraison express 2 à 3 jours ouvrés.",
     "delivery-times"),
    ("fr-livraison", "frais-de-livraison", "Combien coûte la livraison ?",
     "La livraison standard vers l'Europe coûte 8,95 £, offerte dès 120 £ d'achat. L'express coûte 15,95 £.",
     "shipping-costs"),
    ("fr-livraison", "suivre-ma-commande", "Comment suivre ma commande ?",
     "Dès que votre colis quitte l'entrepôt, nous vous envoyons un numéro de suivi par e-mail. Vous le trouvez "
     "aussi dans **Mon compte → Commandes**.", "track-your-order"),
    ("fr-retours", "retourner-un-article", "Comment retourner un article ?",
     "Vous pouvez retourner les articles non portés, avec leurs étiquettes, sous **60 jours**. Ouvrez la "
     "commande dans Mon compte, choisissez *Retourner des articles* et imprimez l'étiquette.", "how-to-return"),
    ("fr-retours", "delai-de-remboursement", "Quand serai-je remboursé ?",
     "Nous remboursons sous 3 jours ouvrés après réception du retour, sur le moyen de paiement utilisé.",
     "refund-time"),
]
SEARCHES = [  # (query, weight): what visitors type; a few find nothing (the content gaps)
    ("return boots", 8), ("refund", 9), ("how long delivery", 7), ("tracking number", 6), ("shipping cost", 6),
    ("exchange size", 5), ("wash jacket", 4), ("zip broken", 3), ("cancel order", 5), ("discount code", 4),
    ("klarna", 2), ("parcel lost", 3), ("invoice vat", 2), ("size guide", 4), ("warranty", 3),
    ("student discount", 3), ("ship to japan", 2), ("tent pole replacement", 2), ("carbon footprint", 1),
]


def load_demo_articles(workspace: Workspace, *, author: Membership, today: datetime, seed: int) -> int:
    """Categories, articles and a month of help-center activity. Returns how many articles."""
    rng = random.Random(seed + 5)
    categories = _categories(workspace, today)
    english = {slug: _article(workspace, author, categories[cat], "en", slug, title, body, today, rng)
               for cat, slug, title, body in ARTICLES}
    internal = [_article(workspace, author, None, "en", slug, title, body, today, rng, audience=Audience.INTERNAL)
                for slug, title, body in INTERNAL]
    created = Article.objects.bulk_create([*english.values(), *internal])
    by_slug = {a.slug: a for a in created}
    french = [_article(workspace, author, categories[cat], "fr", slug, title, body, today, rng,
                       translation_of=by_slug[original]) for cat, slug, title, body, original in FRENCH]
    created += Article.objects.bulk_create(french)
    KnowledgeIndex.objects.update_or_create(workspace=workspace, defaults={"version": 1})
    _activity(workspace, [a for a in created if a.audience == Audience.PUBLIC and a.locale == "en"], today, rng)
    if embeddings.available():
        from touchpoint.knowledge.tasks import embed_workspace

        embed_workspace.enqueue(workspace.pk)  # the worker embeds them; search is lexical until then
    return len(created)


def _categories(workspace: Workspace, today: datetime) -> dict[str, Category]:
    at = today - timedelta(days=120)
    rows = {key: Category(workspace=workspace, locale=locale, name=name, slug=key.removeprefix("fr-"),
                          description=description, position=n, created_at=at, updated_at=at)
            for n, (key, (locale, name, description)) in enumerate(CATEGORIES.items(), 1)}
    Category.objects.bulk_create(rows.values())
    return rows


def _article(workspace: Workspace, author: Membership, category: Category | None, locale: str, slug: str, title: str,
             body: str, today: datetime, rng: random.Random, *, audience: str = Audience.PUBLIC,
             translation_of: Article | None = None) -> Article:
    written = today - timedelta(days=rng.randint(40, 110), minutes=rng.randint(0, 600))
    article = Article(workspace=workspace, category=category, locale=locale, title=clean_title(title), slug=slug,
                      status=ArticleStatus.PUBLISHED, audience=audience, translation_of=translation_of,
                      position=rng.randint(1, 99), author=author, created_at=written, updated_at=written,
                      published_at=written)
    render_body_into(article, article.title, body)
    return article


def _activity(workspace: Workspace, articles: list[Article], today: datetime, rng: random.Random) -> None:
    """A month of visits: about 600 sessions, some by widget visitors who chatted afterwards."""
    visitors = list(Identity.objects.filter(workspace=workspace, kind=IdentityKind.VISITOR)
                    .values_list("value", "customer_id")[:300])
    chats = {}
    for customer_id, at in (Conversation.objects.filter(workspace=workspace, created_at__gte=today - timedelta(days=30))
                            .values_list("customer_id", "created_at")):
        chats.setdefault(customer_id, at)
    titles = {a.pk: a for a in articles}
    queries, weights = zip(*SEARCHES, strict=True)
    searches, views, answers = [], [], {}
    for _ in range(600):
        known = rng.random() < 0.25 and visitors
        key, customer_id = rng.choice(visitors) if known else (str(uuid.UUID(int=rng.getrandbits(128))), None)
        start = chats.get(customer_id) - timedelta(minutes=rng.randint(5, 120)) if customer_id in chats else \
            today - timedelta(days=rng.randint(1, 30), minutes=rng.randint(0, 1439))
        at = start
        for _ in range(rng.randint(1, 3)):
            query = rng.choices(queries, weights=weights)[0]
            found = [a.pk for a in articles if any(w in a.title.lower() or w in a.body_text.lower()
                                                   for w in query.split() if len(w) > 3)][:5]
            searches.append(SearchLog(workspace=workspace, source=SearchSource.HELP_CENTER, query=query,
                                      normalized_query=query, locale="en", mode="lexical", results_count=len(found),
                                      top_article_ids=found, visitor_key=key, at=at))
            if found:
                article_id = rng.choice(found)
                at += timedelta(seconds=rng.randint(5, 60))
                views.append(ArticleView(workspace=workspace, article_id=article_id, visitor_key=key, at=at))
                if rng.random() < 0.3:
                    answers[(article_id, key)] = ArticleFeedback(
                        workspace=workspace, article_id=article_id, visitor_key=key, helpful=rng.random() < 0.78,
                        created_at=at, updated_at=at)
            at += timedelta(seconds=rng.randint(20, 240))
        if rng.random() < 0.5:
            article = titles[rng.choice(list(titles))]
            views.append(ArticleView(workspace=workspace, article=article, visitor_key=key, at=at))
    SearchLog.objects.bulk_create(searches, batch_size=500)
    ArticleView.objects.bulk_create(views, batch_size=500)
    ArticleFeedback.objects.bulk_create(answers.values(), batch_size=500)

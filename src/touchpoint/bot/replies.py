"""Every sentence the bot says to a customer, in one place, so the tone is one voice and a translation or
a wording change touches one file.

The bot is scripted, not generative: it never writes a sentence that is not here, and what it fills
in comes from the store's own records (product names, prices, order status) or from its settings. A
customer's words are never repeated back, so nothing they write (markup, instructions to the bot,
someone else's email address) can come out of the bot's mouth. Texts are plain text: the widget and
the agent's thread escape them, SMS and WhatsApp carry them as they are.
"""

from string import Formatter

TEXTS: dict[str, str] = {
    # opening and small talk
    "greeting_reply": "Hi! I'm {bot_name}. I can find products, check stock and tell you where your order is. "
                      "What can I do for you?",
    "how_can_i_help": "What else can I help you with?",
    "thanks_reply": "You're welcome! Is there anything else I can help with?",
    "goodbye": "Glad I could help. Have a good day!",
    "capabilities": "I can find products by type, colour, size or price, check stock, and tell you the status of "
                    "an order. For anything else I can look in our help center or pass you to a person.",
    # products
    "ask_product": "What are you looking for? For example {examples}.",
    "ask_product_plain": "What are you looking for? Tell me the kind of product, a colour, a size or a budget.",
    "catalog_empty": "I can't search our products right now: the catalog I read has nothing in it yet. "
                     "A person can help you instead.",
    "products_found": "Here is what I found{criteria}:",
    "products_found_one": "I found one{criteria}:",
    "nothing_found": "I found nothing{criteria}.",
    "widened": "Nothing matches all of that. Without {dropped}, I found:",
    "more_results": "There are more; tell me a colour, size or budget to narrow it down.",
    # stock
    "ask_stock_product": "Which product should I check? Tell me its name.",
    "stock_unknown_product": "I couldn't find that product in our catalog. Could you give me its name as it "
                             "appears on the site?",
    "stock_intro": "Stock for {product}:",
    "stock_none_matching": "{product} has no variant {criteria}.",
    # orders
    "ask_order_number": "I can check that. What is your order number? It is in your confirmation email "
                        "(for example {example}).",
    "ask_order_email": "Thanks. To keep your order private, what email address did you use when you ordered?",
    "order_not_verified": "I couldn't find an order with that number and email address. Please check both and "
                          "try again.",
    "order_not_verified_last": "I still couldn't find an order with those details, so I'm passing you to a "
                               "person who can check with you.",
    "order_no_orders": "I don't see an order on your account yet. If you ordered as a guest, what is the order "
                       "number?",
    "order_status": "Order {number} (placed {placed}, total {total}): {status}.",
    "order_shipment": "{carrier} parcel {tracking}: {shipment_status}{eta}.",
    "order_tracking_link": "Track it here: {url}",
    "order_no_shipment": "It hasn't shipped yet.",
    "order_other": "If you meant another order, tell me its number.",
    # knowledge base
    "article_answer": "{paragraph}",
    "article_link": "More in \"{title}\": {url}",
    "no_article": "I don't have an answer to that. Would you like to talk to a person?",
    "not_understood": "Sorry, I didn't get that. I can help with products, stock and orders, or pass you to a "
                      "person.",
    "other_language": "Sorry, I can only answer in English. Would you like a person to help you?",
    "offer_declined": "All right. What else can I help you with?",
    # handoff
    "handoff": "{handoff_message}",
    "handoff_wait": "The expected wait is about {wait}.",
    "handoff_assigned": "{agent} will be with you in a moment.",
    "text_channel_human": "(Reply PERSON to talk to someone.)",
    "session_resolved": "I'll close this chat for now. Write again any time and I'll pick it up.",
}

QUICK_HUMAN = "Talk to a person"
QUICK_DONE = "That's all, thanks"
QUICK_YES = "Yes, please"
QUICK_NO = "No, thanks"

_FIELDS = {key: {name for _, name, _, _ in Formatter().parse(text) if name} for key, text in TEXTS.items()}


def say(key: str, **values: object) -> str:
    """The text `key` with its blanks filled. Every blank must be given: a sentence with a hole in it is
    a bug, not something to send to a customer."""
    missing = _FIELDS[key] - values.keys()
    if missing:
        raise KeyError(f"bot text {key!r} needs {', '.join(sorted(missing))}")
    return TEXTS[key].format(**{name: values[name] for name in _FIELDS[key]})

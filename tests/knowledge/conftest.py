"""Knowledge-base fixtures: a small help center written through the services, as a supervisor would."""

import pytest

from touchpoint.knowledge import search, services


@pytest.fixture(autouse=True)
def _fresh_snapshots():
    """Each test starts with no cached embedding matrix: workspace ids are reused between tests."""
    search.forget_snapshots()
    yield
    search.forget_snapshots()


@pytest.fixture
def lexical_only(settings):
    """Search as an install without the ml extra runs it."""
    settings.KNOWLEDGE_SEMANTIC = False


def write(desk, title: str, body: str, *, locale: str = "en", status: str = "published", audience: str = "public",
          category=None, **kwargs):
    return services.create_article(actor=desk.supervisor_actor, title=title, body=body, locale=locale, status=status,
                                   audience=audience, category=category, **kwargs)


@pytest.fixture
def help_center(desk):
    """Two English categories with articles, a French translation, an internal article and a draft."""
    shipping = services.create_category(actor=desk.supervisor_actor, name="Shipping & delivery", locale="en")
    returns = services.create_category(actor=desk.supervisor_actor, name="Returns & refunds", locale="en")
    articles = {
        "shipping": write(desk, "Shipping times and costs",
                          "Standard shipping takes 3 to 5 business days and costs $4.95.\n\n"
                          "Orders over $75 ship free. Express delivery arrives the next business day.",
                          category=shipping),
        "tracking": write(desk, "Track your parcel",
                          "Every order gets a tracking number by email once it leaves our warehouse.\n\n"
                          "Open the link in the email to see where the parcel is.", category=shipping),
        "returns": write(desk, "How to return an item",
                         "You can return unworn items within 30 days for a full refund.\n\n"
                         "Print the prepaid label from your account and drop the parcel at any post office.",
                         category=returns),
        "refunds": write(desk, "When will I get my refund?",
                         "Refunds reach your card 5 to 10 days after the warehouse receives the return.",
                         category=returns),
        "internal": write(desk, "Goodwill credit policy",
                          "Agents may offer a goodwill credit of up to $20 when a delivery is late.",
                          audience="internal"),
        "draft": write(desk, "Gift cards", "Gift cards never expire and can be used for shipping too.",
                       status="draft"),
    }
    articles["returns_fr"] = write(desk, "Comment retourner un article",
                                   "Vous pouvez retourner les articles non portés sous 30 jours.",
                                   locale="fr", translation_of=articles["returns"])
    return articles

"""Every control within reach, at the window sizes people use, for each role: on a long thread the
composer, Send and Resolve are in view and on top (a hit test at their centre lands on them), the
thread scrolls under the wheel inside its pane, every item of the top navigation (and of its menus)
is visible and clickable, the search box is usable, and the Macros menu opens above everything. An
accessibility check (axe-core, run from the package's own copy: no network) finds nothing serious
or critical on the main screens."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.conftest import Desk
from tests.web.test_browser import Agent, browser, server  # noqa: F401 - fixtures
from touchpoint.automation import services as automation
from touchpoint.conversations import services as conversations
from touchpoint.conversations.services import Content, receive_message, record_delivery

pytestmark = pytest.mark.browser
SIZES = [(1280, 800), (1440, 900), (1920, 1080)]
SHOTS = "/tmp"
LOGINS = {"agent": ("ana@acme.test", "agent-pass-1"), "supervisor": ("sup@acme.test", "sup-pass-12"),
          "admin": ("admin@acme.test", "admin-pass-1")}
# What each role's top bar offers: (links in the bar, links in the Settings menu).
NAVIGATION = {
    "agent": (["Inbox", "My work", "Knowledge base"], []),
    "supervisor": (["Inbox", "My work", "Wallboard", "Knowledge base"],
                   ["Teams", "Queues", "SLAs", "Canned replies & macros", "Bot"]),
    "admin": (["Inbox", "My work", "Wallboard", "Knowledge base"],
              ["Users", "Teams", "Queues", "SLAs", "Canned replies & macros", "Bot", "Channels", "API tokens"]),
}


@pytest.fixture
def long_thread(server) -> dict:  # noqa: F811 - the fixture imported above
    """A conversation of sixty messages (long enough to overflow any window), with a failed reply,
    a note and tags; a macro so the Macros menu has something to show."""
    desk = Desk("acme")
    first, _ = receive_message(workspace_id=desk.id, channel="email", sender=("email", "maria@example.com"),
                               sender_name="Maria Garcia", subject="My order NW-1042 is late",
                               content=Content(text="Hello,\n\nmy order NW-1042 has not arrived.\n\nThanks,\nMaria"))
    conversation = first.conversation
    for i in range(20):
        reply = conversations.reply(actor=desk.agent_actor, conversation=conversation,
                                    content=Content(text=f"Update {i}: the carrier says it is on its way.\n\nAna"))
        record_delivery(message=reply, status="failed" if i == 19 else "sent", provider_id=f"m{i}",
                        error="SMTP 550 mailbox unavailable" if i == 19 else "")
        receive_message(workspace_id=desk.id, channel="email", sender=("email", "maria@example.com"),
                        content=Content(text=f"Still nothing today ({i}). Could you check again?"),
                        conversation=conversation)
        if i % 5 == 0:
            conversations.add_note(actor=desk.agent_actor, conversation=conversation,
                                   content=Content(text=f"Called the carrier ({i})."))
    conversations.tag(actor=desk.agent_actor, conversation=conversation, add=["late", "carrier"])
    automation.create_macro(actor=desk.supervisor_actor, name="Late parcel", description="Tag and pend",
                            actions=[{"type": "tag", "tags": ["late"]}, {"type": "status", "status": "pending"}],
                            visibility="workspace")
    return {"conversation": conversation.pk, "customer": conversation.customer_id}


def _in_reach(page, selector: str) -> None:
    """Visible, wholly inside the window, and on top: the element under its centre is it (or inside it)."""
    element = page.locator(selector)
    assert element.is_visible(), f"{selector} is not visible"
    box = element.bounding_box()
    viewport = page.viewport_size
    assert box["x"] >= 0 and box["y"] >= 0, f"{selector} starts outside the window: {box}"
    assert box["x"] + box["width"] <= viewport["width"] + 0.5, f"{selector} is cut on the right: {box}"
    assert box["y"] + box["height"] <= viewport["height"] + 0.5, f"{selector} is below the window: {box}"
    on_top = element.evaluate("(el) => { const r = el.getBoundingClientRect();"
                              " const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);"
                              " return el === hit || el.contains(hit); }")
    assert on_top, f"{selector} is covered by another element"


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
def test_controls_and_navigation_are_in_reach_at_every_size(server, long_thread, browser, role):  # noqa: F811
    person = Agent(browser, server, *LOGINS[role])
    page = person.page
    page.goto(f"{server}/conversations/{long_thread['conversation']}/")
    person.wait_live()
    in_bar, in_menu = NAVIGATION[role]
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(200)
        # The conversation: the composer and its actions stay in view; the thread scrolls in its pane.
        for selector in ("#composer-text", "#composer button.primary", '#conv-header [data-shortcut="resolve"]',
                         ".delivery-failed .retry"):
            if selector == ".delivery-failed .retry":
                page.locator(selector).scroll_into_view_if_needed()
            _in_reach(page, selector)
        thread = page.locator("#thread")
        scrolled = thread.evaluate("(t) => [t.scrollHeight > t.clientHeight + 100, t.scrollTop]")
        assert scrolled[0], "the long thread does not scroll inside its pane"
        box = thread.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, -600)
        page.wait_for_timeout(300)
        assert thread.evaluate("(t) => t.scrollTop") < scrolled[1], "the wheel does not scroll the thread"
        assert page.evaluate("document.scrollingElement.scrollTop") == 0  # the page itself never scrolls away
        _in_reach(page, "#composer button.primary")

        # The top bar: every item in view and clickable, the search box wide enough to type in.
        for name in in_bar:
            _in_reach(page, f'.topnav .nav-items > li > a:text-is("{name}")')
        for selector in ("#search-input", "#notifications summary", ".user-menu summary"):
            _in_reach(page, selector)
        assert page.locator("#search-input").bounding_box()["width"] >= 200
        if in_menu:
            page.click(".nav-menu summary")
            assert page.locator(".nav-menu .menu-panel a").all_inner_texts() == in_menu
            for name in in_menu:
                _in_reach(page, f'.nav-menu .menu-panel a:text-is("{name}")')
            page.screenshot(path=f"{SHOTS}/layout-{role}-{width}-settings-menu.png", caret="initial")
            page.keyboard.press("Escape")
            assert not page.locator(".nav-menu .menu-panel").is_visible()
        else:
            assert page.locator(".nav-menu").count() == 0
        page.click(".user-menu summary")
        for selector in (".user-menu button:text-is('Keyboard shortcuts')", ".user-menu button:text-is('Sign out')"):
            _in_reach(page, selector)
        page.mouse.click(5, height - 5)  # a click elsewhere closes the menu
        assert not page.locator(".user-menu .menu-panel").is_visible()

        # The Macros menu opens above the thread and the list, inside the window.
        page.click("details.macros summary")
        page.wait_for_selector(".macro-list .macro-apply")
        _in_reach(page, ".macro-list")
        _in_reach(page, ".macro-list .macro-apply")
        pane = page.locator("#pane").bounding_box()
        assert page.locator(".macro-list").bounding_box()["x"] >= pane["x"], "the Macros menu opens under the list"
        page.screenshot(path=f"{SHOTS}/layout-{role}-{width}-macros.png", caret="initial")
        page.keyboard.press("Escape")
        page.screenshot(path=f"{SHOTS}/layout-{role}-{width}.png", caret="initial")
    assert person.problems == [], person.problems


def _serious(page) -> list[str]:
    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] for n in v["nodes"][:5])
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def test_the_main_screens_have_no_serious_accessibility_violations(server, long_thread, browser):  # noqa: F811
    screens = ["/", f"/conversations/{long_thread['conversation']}/", f"/customers/{long_thread['customer']}/",
               "/me/", "/wallboard/", "/knowledge/", "/settings/users/", "/settings/teams/", "/settings/queues/",
               "/settings/slas/", "/settings/automation/", "/settings/bot/", "/settings/channels/",
               "/settings/tokens/", "/settings/knowledge/", "/settings/channels/outbox/"]
    found: dict[str, list[str]] = {}
    login = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    login.goto(f"{server}/login/")
    found["/login/"] = _serious(login)
    nora = Agent(browser, server, *LOGINS["admin"])
    for path in screens:
        nora.page.goto(server + path)
        nora.page.wait_for_load_state("networkidle")
        found[path] = _serious(nora.page)
    assert {path: problems for path, problems in found.items() if problems} == {}
    assert nora.problems == [], nora.problems

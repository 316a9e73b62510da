"""Settings → People, the invitation page and the login page in a real browser at the three desk sizes:
an admin invites, resends and deactivates; the invited person opens the mailed link, is told what is
wrong with a password, chooses one and lands in the workspace; every control is in view and usable,
within the strict Content-Security-Policy. PEOPLE_SCREENSHOTS=<folder> keeps a screenshot of each."""

import os

import pytest

from tests.conftest import Desk, invitation_link
from tests.web.test_browser import browser, server  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser
SIZES = [(1280, 800), (1440, 900), (1920, 1080)]


class Person:
    def __init__(self, browser, base: str, size: tuple[int, int]) -> None:  # noqa: F811
        self.context = browser.new_context(viewport={"width": size[0], "height": size[1]})
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.problems: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"error: {error}"))
        # A 4xx answer is logged as a failed resource; those are expected here. Anything else (a CSP
        # violation, a script error) is a problem.
        self.page.on("console", lambda m: m.type == "error" and "Failed to load resource" not in m.text
                     and self.problems.append(f"console: {m.text}"))
        self.base, self.size = base, size

    def sign_in(self, email: str, password: str) -> None:
        self.page.goto(f"{self.base}/login/")
        self.shot("login")
        self.page.fill("#login-email", email)
        self.page.fill("#login-password", password)
        self.page.click("form.login button[type=submit]")
        self.page.wait_for_url(f"{self.base}/")

    def shot(self, name: str) -> None:
        folder = os.environ.get("PEOPLE_SCREENSHOTS")
        if folder:
            self.page.screenshot(path=f"{folder}/{name}-{self.size[0]}.png", full_page=False)


def assert_usable(page, locator) -> None:
    """Visible, enabled, inside the window (scrolled to if need be) and not covered by anything else."""
    from playwright.sync_api import expect

    expect(locator).to_be_visible()
    expect(locator).to_be_enabled()
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    assert box and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width
    assert box["y"] + box["height"] <= height
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.evaluate("([x, y, el]) => el.contains(document.elementFromPoint(x, y))", [*centre, locator.element_handle()])


@pytest.fixture
def desk(server) -> Desk:  # noqa: F811 - made before the browser starts (see test_browser.py)
    return Desk("acme")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_invite_resend_accept_and_deactivate(server, desk, browser, size):  # noqa: F811
    from playwright.sync_api import expect

    admin = Person(browser, server, size)
    admin.sign_in("admin@acme.test", "admin-pass-1")
    page = admin.page
    page.goto(f"{server}/settings/users/")
    for control in ("#new-email", "#new-name", "#new-role", "form.inline button.primary"):
        assert_usable(page, page.locator(control))
    assert page.locator('input[type="password"]').count() == 0
    page.fill("#new-email", "kim@example.com")
    page.fill("#new-name", "Kim Lee")
    page.select_option("#new-role", "supervisor")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".flash-ok")).to_contain_text("Invitation mailed to kim@example.com")
    row = page.locator("#invitations tr", has_text="kim@example.com")
    expect(row).to_contain_text("Supervisor")
    expect(row).to_contain_text("Pending, until")
    assert_usable(page, row.get_by_role("button", name="Resend"))
    assert_usable(page, row.get_by_role("button", name="Revoke"))
    admin.shot("people")
    first = invitation_link("kim@example.com")
    row.get_by_role("button", name="Resend").click()
    expect(page.locator(".flash-ok")).to_contain_text("the earlier one no longer works")
    link = invitation_link("kim@example.com")
    assert link != first and link.startswith(server)

    # The invited person, in their own browser.
    kim = Person(browser, server, size)
    kim.page.goto(first)
    expect(kim.page.locator("[role=alert]")).to_contain_text("not valid")
    kim.page.goto(link)
    expect(kim.page.locator(".invitation")).to_contain_text("invites you to join Desk acme as supervisor")
    kim.shot("invitation")
    kim.page.fill("#invite-password", "kims-own-choice")
    kim.page.fill("#invite-password-again", "kims-other-choice")
    kim.page.get_by_role("button", name="Join Desk acme").click()
    expect(kim.page.locator("[role=alert]")).to_contain_text("The two passwords differ")
    kim.shot("invitation-error")
    kim.page.fill("#invite-password", "kims-own-choice")
    kim.page.fill("#invite-password-again", "kims-own-choice")
    assert_usable(kim.page, kim.page.get_by_role("button", name="Join Desk acme"))
    kim.page.get_by_role("button", name="Join Desk acme").click()
    kim.page.wait_for_url(f"{server}/")
    expect(kim.page.locator(".me")).to_have_text("Kim Lee")

    # Back with the admin: Kim is a member now; deactivate and reactivate Ben.
    page.goto(f"{server}/settings/users/")
    expect(page.locator("#members tr", has_text="kim@example.com")).to_contain_text("Active")
    expect(page.locator("#invitations")).not_to_contain_text("kim@example.com")
    ben = page.locator("#members tr", has_text="ben@acme.test")
    assert_usable(page, ben.get_by_role("button", name="Deactivate Ben acme"))
    ben.get_by_role("button", name="Deactivate Ben acme").click()
    ben = page.locator("#members tr", has_text="ben@acme.test")
    expect(ben).to_contain_text("Deactivated")
    admin.shot("people-deactivated")
    ben.get_by_role("button", name="Reactivate Ben acme").click()
    expect(page.locator("#members tr", has_text="ben@acme.test")).to_contain_text("Active")
    assert admin.problems == [] and kim.problems == []
    admin.context.close()
    kim.context.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_login_page_says_why_and_how_long_when_signing_in_is_locked(server, desk, browser, size, settings):  # noqa: F811
    from playwright.sync_api import expect

    settings.LOGIN_LOCKOUT_FAILURES = 2
    person = Person(browser, server, size)
    page = person.page
    page.goto(f"{server}/login/")
    for password in ("wrong-1", "wrong-2"):
        page.fill("#login-email", "ana@acme.test")
        page.fill("#login-password", password)
        page.get_by_role("button", name="Sign in").click()
    expect(page.locator("[role=alert]")).to_contain_text("locked for 15 minutes")
    assert page.locator("#login-email").input_value() == "ana@acme.test"
    assert_usable(page, page.get_by_role("button", name="Sign in"))
    person.shot("login-locked")
    assert person.problems == []
    person.context.close()


def test_a_deactivated_agents_open_inbox_ends_at_once(server, desk, browser):  # noqa: F811
    """The socket closes and the page reloads to say why, with no further live event shown."""
    import threading

    from playwright.sync_api import expect

    from tests.web.test_browser import Agent
    from touchpoint.accounts import services as accounts

    ben = Agent(browser, server, "ben@acme.test", "agent-pass-2")
    worker = threading.Thread(target=accounts.update_member,
                              kwargs={"actor": desk.admin_actor, "membership": desk.agent2, "is_active": False})
    worker.start()
    worker.join(20)
    expect(ben.page.locator("[role=alert]")).to_contain_text("not a member of any workspace", timeout=10_000)
    assert ben.page.locator("#inbox").count() == 0
    ben.context.close()


@pytest.fixture
def invited_elsewhere(server, desk) -> tuple[Desk, str]:  # noqa: F811
    """Ana of acme, invited to globex: she has an account, so she must sign in to accept."""
    from touchpoint.accounts import services as accounts

    globex = Desk("globex")
    accounts.invite_member(actor=globex.admin_actor, email="ana@acme.test", display_name="Ana at Globex",
                           site=server)
    return globex, invitation_link("ana@acme.test")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_someone_with_an_account_signs_in_then_joins(server, invited_elsewhere, browser, size):  # noqa: F811
    from playwright.sync_api import expect

    globex, link = invited_elsewhere
    ana = Person(browser, server, size)
    page = ana.page
    page.goto(link)
    expect(page.locator(".invitation")).to_contain_text("ana@acme.test has a Touchpoint account")
    assert page.locator('input[type="password"]').count() == 0  # no password is taken for her account here
    ana.shot("invitation-existing")
    sign_in = page.get_by_role("link", name="Sign in to accept")
    assert_usable(page, sign_in)
    sign_in.click()
    page.fill("#login-email", "ana@acme.test")
    page.fill("#login-password", "agent-pass-1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(link)
    join = page.get_by_role("button", name="Join Desk globex")
    assert_usable(page, join)
    ana.shot("invitation-join")
    join.click()
    page.wait_for_url(f"{server}/")
    expect(page.locator("#workspace-select")).to_have_value(str(globex.id))
    assert ana.problems == []
    ana.context.close()

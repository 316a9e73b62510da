"""The page an invitation's link opens. Public: the token in the link is what admits its holder, and
only to answer that one invitation. A person new to Touchpoint chooses a password here; a person
with an account signs in as themselves first, so nobody else's password can ever open it."""

from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from touchpoint.accounts import services as accounts
from touchpoint.accounts.models import Invitation
from touchpoint.accounts.selectors import has_account
from touchpoint.core.api import SESSION_WORKSPACE_KEY
from touchpoint.core.errors import DomainError
from touchpoint.web import forms


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = accounts.open_invitation(token)
    except DomainError as error:
        return render(request, "web/invitation.html", {"closed": error.message}, status=error.status)
    if request.method == "GET":
        return _page(request, found)
    try:
        if has_account(found.email):
            membership = accounts.accept_invitation(token=token, user=request.user)
        else:
            password = forms.cleaned(forms.NewPasswordForm(request.POST))["password"]
            membership = accounts.accept_invitation(token=token, user=request.user, password=password)
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
    except DomainError as error:
        return _page(request, found, error=error.message, status=error.status)
    request.session[SESSION_WORKSPACE_KEY] = membership.workspace_id  # open the workspace just joined
    return redirect("/")


def _page(request: HttpRequest, found: Invitation, *, error: str = "", status: int = 200) -> HttpResponse:
    user = request.user
    return render(request, "web/invitation.html", {
        "invitation": found, "has_account": has_account(found.email), "error": error,
        "signed_in_as_invitee": user.is_authenticated and user.email == found.email,
        "signed_in_as_other": user.is_authenticated and user.email != found.email,
    }, status=status)

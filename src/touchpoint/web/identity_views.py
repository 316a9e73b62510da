"""Linking a customer's identities by hand: an agent adds an email address or a phone number they
learned in the conversation; when another customer has it already, they are offered to merge the two."""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from touchpoint.customers import services as customers
from touchpoint.customers.selectors import access_customer, identity_owner
from touchpoint.web import forms
from touchpoint.web.access import DeskRequest, desk_view


@require_POST
@desk_view()
def add_identity(request: DeskRequest, customer_id: int) -> HttpResponse:
    customer = access_customer(request.actor, customer_id)
    data = forms.cleaned(forms.IdentityForm(request.POST))
    context = {"customer": customer, "kind": data["kind"]}
    try:
        customers.add_identity(actor=request.actor, customer=customer, kind=data["kind"], value=data["value"])
    except customers.IdentityTaken:
        owner = identity_owner(request.actor, data["kind"], data["value"])
        context.update(taken={"owner": owner, "value": data["value"].strip()}, value=data["value"])
    return _identities(request, customer, context)


@require_POST
@desk_view()
def merge_into(request: DeskRequest, customer_id: int) -> HttpResponse:
    """Fold the other customer (who had the identity) into this one, then show the page afresh: the
    conversation's customer, sidebar and timeline all change."""
    target = access_customer(request.actor, customer_id)
    source = access_customer(request.actor, forms.cleaned(forms.MergeForm(request.POST))["source"])
    customers.merge_customers(actor=request.actor, source=source, target=target)
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return redirect(f"/customers/{target.pk}/")


def _identities(request: DeskRequest, customer, context: dict) -> HttpResponse:
    if not request.htmx:
        return redirect(f"/customers/{customer.pk}/")
    return render(request, "web/_identities.html", {**context, "identities": list(customer.identities.all())})

"""The REST API's shared edge: who is calling, how a refusal reads, how a long list pages.

Every app's `api.py` builds on these three pieces so that all endpoints authenticate, fail and
paginate the same way.
"""

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any, Generic, TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DataError
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.urls import URLPattern, re_path
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled, ValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer
from ninja.security.base import AuthBase
from ninja.utils import check_csrf
from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field

from touchpoint.accounts.selectors import actor_for, session_membership
from touchpoint.accounts.services import authenticate_token
from touchpoint.core.errors import DomainError, ValidationFailed
from touchpoint.core.permissions import Actor

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
MAX_ID = 2**63 - 1  # the largest id a column holds: bigger ones are refused up front, not overflowed in SQL
SESSION_WORKSPACE_KEY = "workspace_id"  # which of a person's workspaces the logged-in session works in
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


# ---- input types shared by every schema ---------------------------------------------------------

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Limit = Annotated[int, Field(ge=1, le=100, description="How many items to return (1–100).")]


def _plausible(value: datetime) -> datetime:
    # Far-off years overflow when converted between time zones; no desk has data there.
    if not 1900 <= value.year <= 9000:
        raise ValueError("use a date between the years 1900 and 9000")
    return value.astimezone(UTC)


# An ISO 8601 timestamp with a time zone, e.g. 2026-03-01T09:30:00Z: a time without one is ambiguous.
When = Annotated[AwareDatetime, AfterValidator(_plausible)]


class Input(Schema):
    """A request body. Unknown fields are refused, so a misspelt one is reported instead of silently ignored."""

    model_config = ConfigDict(extra="forbid")


# ---- who is calling ----------------------------------------------------------------------------


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <key>`: an API token, acting with at most its issuer's role."""

    def authenticate(self, request: HttpRequest, token: str) -> Actor:
        api_token = authenticate_token(token.strip())
        if api_token is None:
            # A wrong key must not fall back to the session: the caller meant to use this token.
            raise AuthenticationError(message="This API token is unknown, revoked, or belongs to a deactivated user.")
        return actor_for(api_token.membership, token=api_token)


class SessionAuth(AuthBase):
    """The logged-in web session, so the agent workspace can call the API. Writes need the CSRF token."""

    openapi_type = "apiKey"
    openapi_in = "cookie"
    openapi_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> Actor | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method in _UNSAFE_METHODS and check_csrf(request) is not None:
            raise AuthorizationError(message="CSRF check failed: send the X-CSRFToken header with the csrftoken cookie's value.")
        membership = session_membership(user, request.session.get(SESSION_WORKSPACE_KEY))
        return actor_for(membership) if membership is not None else None


def actor(request: HttpRequest) -> Actor:
    """The authenticated actor of an API request."""
    return request.auth  # type: ignore[attr-defined]


# ---- problems: every error as application/problem+json ------------------------------------------


def problem(
    status: int, code: str, detail: str, *, field: str | None = None, errors: list[dict[str, Any]] | None = None,
) -> HttpResponse:
    """An RFC 9457 problem document. `code` is stable: clients branch on it, people read `detail`."""
    body: dict[str, Any] = {
        "type": f"urn:touchpoint:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if field:
        body["field"] = field
    if errors:
        body["errors"] = errors
    return JsonResponse(body, status=status, content_type=PROBLEM_JSON, json_dumps_params={"ensure_ascii": False})


class Problem(Schema):
    """How every error reads (RFC 9457 problem details)."""

    type: str = Field(description="A URN naming the kind of problem.")
    title: str
    status: int
    detail: str = Field(description="What went wrong and what to do about it.")
    code: str = Field(description="Stable machine-readable error code, e.g. `not_found`, `validation_failed`.")
    field: str | None = None
    errors: list[dict[str, Any]] | None = None


class InvalidCursor(DomainError):
    status = 400
    code = "invalid_cursor"


_CODE_BY_STATUS = {400: "bad_request", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
                   405: "method_not_allowed", 409: "conflict", 422: "validation_failed", 429: "throttled"}


def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    errors = [{"field": exc.field, "code": exc.code, "message": exc.message}] if exc.field else None
    return problem(exc.status, exc.code, exc.message, field=exc.field, errors=errors)


def _invalid_request(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [_field_error(e) for e in exc.errors]
    detail = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors)
    return problem(422, "validation_failed", f"The request has invalid values. {detail}.",
                   field=errors[0]["field"] if len(errors) == 1 else None, errors=errors)


def _field_error(error: dict[str, Any]) -> dict[str, Any]:
    """Pydantic's error as a person reads it: `identities.0.kind` in the body, not a Python location."""
    source, *path = error.get("loc", ()) or ("body",)
    if source == "body" and path and path[0] in ("payload", "body"):
        path = path[1:]  # the view's parameter name means nothing to a client
    message = error.get("msg", "Invalid value.")
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    if "[key]" in path:  # the name of an entry is wrong, not its value
        path = [p for p in path if p != "[key]"]
        message = f"this name is not accepted: {message}"
    return {"in": source, "field": ".".join(str(p) for p in path), "code": error.get("type", "invalid"), "message": message}


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(cause, DomainError):
        return _domain_error(request, cause)  # raised by the JSON parser below
    if exc.status_code == 400 and cause is not None:
        return problem(400, "malformed_json", f"The request body is not valid JSON ({cause}). Send one JSON object.")
    status = exc.status_code
    detail = str(exc)
    if isinstance(exc, AuthenticationError):
        if detail == "Unauthorized":
            detail = "Authenticate with 'Authorization: Bearer <API token>' or a logged-in session."
        response = problem(401, "not_authenticated", detail)
        response["WWW-Authenticate"] = 'Bearer realm="touchpoint"'
        return response
    if isinstance(exc, AuthorizationError) and detail.startswith("CSRF"):
        return problem(403, "csrf_failed", detail)
    if isinstance(exc, Throttled):
        return problem(429, "throttled", "Too many requests; wait a little and try again.")
    return problem(status, _CODE_BY_STATUS.get(status, "error"), detail)


def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem(404, "not_found", "Nothing here: the id is unknown in this workspace, or the address is wrong.")


def _forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem(403, "permission_denied", str(exc) or "You may not do this.")


def _unstorable(request: HttpRequest, exc: DataError) -> HttpResponse:
    # The database refused a value the schema let through (too long for a column, out of range).
    log.warning("database refused a value: %s", exc)
    return problem(422, "invalid_value", "A value is too long or out of range to be stored; shorten or correct it.")


def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("unexpected error on %s %s", request.method, request.path)
    return problem(500, "internal_error", "Something went wrong on our side; it has been logged. Try again later.")


def install_problem_handlers(api: NinjaAPI) -> None:
    api.add_exception_handler(DomainError, _domain_error)
    api.add_exception_handler(ValidationError, _invalid_request)
    api.add_exception_handler(HttpError, _http_error)
    api.add_exception_handler(Http404, _not_found)
    api.add_exception_handler(DjangoPermissionDenied, _forbidden)
    api.add_exception_handler(DataError, _unstorable)
    api.add_exception_handler(Exception, _unexpected)


class JSONParser(Parser):
    """JSON bodies and query strings, refusing what the database cannot store rather than failing on it."""

    def parse_body(self, request: HttpRequest) -> Any:
        data = json.loads(request.body, parse_constant=_reject_constant)
        _check_text(data, "body")
        return data

    def parse_querydict(self, data: Any, list_fields: list[str], request: HttpRequest) -> dict[str, Any]:
        parsed = super().parse_querydict(data, list_fields, request)
        _check_text(parsed, "query")
        return parsed


def _reject_constant(name: str) -> None:
    raise ValidationFailed(f"{name} is not a number JSON allows.", code="invalid_number")


def _check_text(value: Any, where: str) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValidationFailed(f"Text in the {where} contains a NUL character (\\u0000); remove it.", code="invalid_text")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationFailed(f"Text in the {where} is not valid Unicode (a lone surrogate).", code="invalid_text") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, where)
            _check_text(item, where)
    elif isinstance(value, list):
        for item in value:
            _check_text(item, where)


_PROBLEM_RESPONSES = {
    400: "Malformed JSON or a damaged cursor.",
    401: "No valid API token or session.",
    403: "Your role may not do this, or the CSRF check failed.",
    404: "Unknown id in this workspace.",
    409: "Conflicts with the current state, e.g. a duplicate name or an identity owned by another customer.",
    422: "Invalid values; `errors` lists each field.",
}


class TouchpointAPI(NinjaAPI):
    """NinjaAPI whose unknown addresses and wrong methods answer problem+json too, like every other error,
    and whose schema documents the problems each operation can answer."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict | None = None) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema["components"].setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
        content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                params = {p["name"] for p in operation.get("parameters", [])}
                statuses = [401, 403, 422]
                statuses += [400] if "requestBody" in operation or "cursor" in params else []
                statuses += [404] if "{" in path else []
                statuses += [409] if method in ("post", "put", "patch") else []
                for status in sorted(statuses):
                    operation["responses"].setdefault(status, {"description": _PROBLEM_RESPONSES[status], "content": content})
        return schema

    @property
    def urls(self) -> tuple[list, str, str]:
        patterns, app_name, namespace = super().urls
        patterns = [_with_problem_405(p) if isinstance(p, URLPattern) else p for p in patterns]
        patterns.append(re_path(r"^.*$", _unknown_address, name="not-found"))
        return patterns, app_name, namespace


def _with_problem_405(pattern: URLPattern) -> URLPattern:
    view = pattern.callback

    def view_with_problem(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = problem(405, "method_not_allowed", f"{request.method} is not allowed here; use {allowed}.")
            response["Allow"] = allowed
        return response

    view_with_problem.csrf_exempt = getattr(view, "csrf_exempt", False)  # type: ignore[attr-defined]
    pattern.callback = view_with_problem
    return pattern


def _unknown_address(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return problem(404, "not_found", f"No API endpoint at {request.path}; see /api/v1/docs for the list.")


_unknown_address.csrf_exempt = True  # type: ignore[attr-defined]


# ---- cursor pagination (keyset: page 2000 costs what page 1 costs) ------------------------------

T = TypeVar("T")


class Page(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Keyset:
    """One listing order a cursor can resume: a timestamp column, then the id to break ties.

    The cursor is opaque to clients: base64 of the listing's name, the last row's sort value and id.
    Resuming filters on the sort key (no OFFSET), so an index serves every page equally fast.
    """

    name: str
    field: str
    descending: bool

    def page(self, qs: QuerySet[M], *, cursor: str | None, limit: int) -> tuple[list[M], str | None]:
        direction = "-" if self.descending else ""
        qs = qs.order_by(f"{direction}{self.field}", f"{direction}id")
        if cursor:
            value, last_id = self.decode(cursor)
            op = "lt" if self.descending else "gt"
            # `<=` on the leading column gives the index a range to scan; the OR breaks ties by id.
            qs = qs.filter(**{f"{self.field}__{op}e": value}).filter(
                Q(**{f"{self.field}__{op}": value}) | Q(**{f"id__{op}": last_id})
            )
        rows = list(qs[: limit + 1])
        if len(rows) <= limit:
            return rows, None
        rows = rows[:limit]
        return rows, self.encode(rows[-1])

    def encode(self, row: Model) -> str:
        value: datetime = getattr(row, self.field)
        raw = json.dumps([self.name, value.astimezone(UTC).isoformat(), row.pk], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def decode(self, cursor: str) -> tuple[datetime, int]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            name, value, last_id = json.loads(raw)
            at = datetime.fromisoformat(value)
            at = at.astimezone(UTC) if at.tzinfo else at  # a hand-made year 1 or 9999 overflows here, not in SQL
        except (binascii.Error, ValueError, TypeError, OverflowError):
            raise InvalidCursor("This cursor is damaged; use next_cursor exactly as returned, or start without one.",
                                field="cursor") from None
        if name != self.name or at.tzinfo is None or not isinstance(last_id, int) or not 0 < last_id <= MAX_ID:
            raise InvalidCursor("This cursor belongs to another listing or order; start again without a cursor.",
                                field="cursor")
        return at, last_id


def page_of(keyset: Keyset, qs: QuerySet[M], *, cursor: str | None, limit: int) -> dict[str, Any]:
    """A `Page` body: the rows and the cursor after them."""
    rows, next_cursor = keyset.page(qs, cursor=cursor, limit=limit)
    return {"items": rows, "next_cursor": next_cursor}

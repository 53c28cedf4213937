"""One error shape for the whole API, so a client has one thing to parse.

    4xx/5xx with a message:   {"detail": "…"}
    422 naming the input:     {"detail": [{"loc": ["body", "id_number"], "msg": "…", "type": "…"}, …]}

Service errors (CarenetError) and pydantic's own validation errors both come out as the second shape,
with the same `loc` convention: ["body"|"query"|"path", field, …].
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from carenet.core.errors import CarenetError, PermissionDeniedError
from carenet.visits.services import VisitConflict

logger = logging.getLogger(__name__)

# Every endpoint names its JSON body `payload` and its query schema `params`; the name is dropped from `loc`.
PARAM_NAMES = {"payload", "params"}

# Services name the model field; the API names the input the client sent.
SERVICE_FIELD_TO_INPUT = {"division": "division_code"}


class AuditUnavailable(Exception):
    """The access record could not be written, so the child's data must not be sent (fail closed)."""


class FieldError(Exception):
    """Raised by an endpoint for an input it cannot resolve (e.g. an unknown division code)."""

    def __init__(self, field: str, message: str, *, where: str = "body") -> None:
        super().__init__(message)
        self.loc = [where, field]
        self.message = message


def unprocessable(
    api: NinjaAPI, request: HttpRequest, loc: list[Any], message: str, kind: str
) -> HttpResponse:
    return api.create_response(request, {"detail": [{"loc": loc, "msg": message, "type": kind}]}, status=422)


def _clean_loc(loc: Any) -> list[Any]:
    parts = list(loc)
    if len(parts) >= 2 and parts[0] in {"body", "query"} and parts[1] in PARAM_NAMES:
        del parts[1]
    return parts


def _jsonable_error(err: dict[str, Any]) -> dict[str, Any]:
    msg = str(err.get("msg", ""))
    if err.get("type") == "value_error":
        msg = msg.removeprefix("Value error, ")  # our validators' messages are already sentences
    return {"loc": _clean_loc(err.get("loc", [])), "msg": msg, "type": err.get("type", "invalid")}


def install(api: NinjaAPI) -> None:
    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return api.create_response(request, {"detail": [_jsonable_error(e) for e in exc.errors]}, status=422)

    @api.exception_handler(FieldError)
    def field_error(request: HttpRequest, exc: FieldError) -> HttpResponse:
        return unprocessable(api, request, exc.loc, exc.message, "invalid")

    @api.exception_handler(PermissionDeniedError)
    def permission_denied(request: HttpRequest, exc: PermissionDeniedError) -> HttpResponse:
        return api.create_response(request, {"detail": exc.message}, status=403)

    @api.exception_handler(VisitConflict)  # ninja picks the handler by the exception's MRO: this one wins
    def visit_conflict(request: HttpRequest, exc: VisitConflict) -> HttpResponse:
        detail = [{"loc": ["body", exc.field or "client_id"], "msg": exc.message, "type": "conflict"}]
        return api.create_response(request, {"detail": detail}, status=409)

    @api.exception_handler(CarenetError)
    def rule_broken(request: HttpRequest, exc: CarenetError) -> HttpResponse:
        field = SERVICE_FIELD_TO_INPUT.get(exc.field or "", exc.field)
        loc = ["body", field] if field else ["body"]
        return unprocessable(api, request, loc, exc.message, "carenet")

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        # One body for "does not exist" and "outside your jurisdiction": an outsider learns nothing.
        return api.create_response(request, {"detail": _("Not found.")}, status=404)

    @api.exception_handler(ObjectDoesNotExist)
    def vanished(request: HttpRequest, exc: ObjectDoesNotExist) -> HttpResponse:
        # A service re-reads through scope(); a record that left the caller's jurisdiction meanwhile is a 404.
        return not_found(request, Http404())

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = api.create_response(
            request, {"detail": _("Sign in first: send a Bearer token or a session cookie.")}, status=401
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(AuditUnavailable)
    def audit_unavailable(request: HttpRequest, exc: AuditUnavailable) -> HttpResponse:
        return api.create_response(
            request,
            {"detail": _("The access could not be recorded, so the record is not shown. Try again later.")},
            status=503,
        )

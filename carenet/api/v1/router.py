"""carenet API v1, mounted at /api/v1/. One module per domain; each parses, calls a selector or service,
serialises. Authentication: a Bearer device token (POST /auth/token) or the browser session (+CSRF)."""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.renderers import JSONRenderer

from carenet.api.v1 import auth, children, divisions, errors, me, problems, visits
from carenet.api.v1.security import ApiTokenAuth, SessionCsrfAuth


class Utf8JSONRenderer(JSONRenderer):
    # Names are Chinese: raw UTF-8 is half the bytes of \uXXXX escapes on a village director's phone.
    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    title="carenet API",
    version="1",
    description="Child care-and-protection registry. Every read is limited to the caller's jurisdiction; "
    "a record outside it answers 404 exactly like a missing one.",
    urls_namespace="api-v1",
    auth=[ApiTokenAuth(), SessionCsrfAuth()],
    renderer=Utf8JSONRenderer(),
)
errors.install(api)
api.add_router("/auth", auth.router)
api.add_router("/me", me.router)
api.add_router("/children", children.router)
api.add_router("/divisions", divisions.router)
api.add_router("/visits", visits.router)
api.add_router("/problems", problems.router)

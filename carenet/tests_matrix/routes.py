"""Every URL pattern the project serves, found by walking the root resolver (web, API, i18n, anything added later)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    key: str  # "namespace:name", or "path:<route>" for a pattern without a name
    route: str  # the full route text, e.g. "api/v1/children/<child_id>"
    params: tuple[str, ...]  # URL parameters the pattern captures


def _params(pattern: URLPattern | URLResolver) -> tuple[str, ...]:
    converters = getattr(pattern.pattern, "converters", None)
    if converters is not None:
        return tuple(converters)
    return tuple(pattern.pattern.regex.groupindex)


def all_routes() -> dict[str, Route]:
    found: dict[str, Route] = {}

    def walk(resolver: URLResolver, prefix: str, namespace: str, params: tuple[str, ...]) -> None:
        for entry in resolver.url_patterns:
            text = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                ns = namespace
                if entry.namespace:
                    ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry, text, ns, params + _params(entry))
                continue
            if entry.name:
                key = f"{namespace}:{entry.name}" if namespace else entry.name
            else:
                key = f"path:{text}"
            # A name used twice is one row: both patterns answer to the same reverse().
            found.setdefault(key, Route(key=key, route=text, params=params + _params(entry)))

    walk(get_resolver(), "", "", ())
    return found

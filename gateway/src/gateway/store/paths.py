"""The storefront's paths: /store and below, but for the gems store dialect's one route, POST /store/redeem
(whose errors that dialect renders: its Dialect.prefix is that path)."""

from __future__ import annotations

PREFIX = "/store"
_ROOTS = (PREFIX, PREFIX + "/")
_BELOW = ("/store/items", "/store/redemptions", "/store/sign-in", "/store/sign-out")
_BELOW_SLASH = tuple(p + "/" for p in _BELOW)


def is_storefront(path: str) -> bool:
    if path in _ROOTS or path in _BELOW:
        return True
    return path.startswith(_BELOW_SLASH)

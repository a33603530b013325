"""The request body limit: a body larger than its route's limit is answered 413 PAYLOAD_TOO_LARGE, in the shape of
the API it was sent to, before anything parses it (a 10 MB JSON body costs about a second of CPU to read).

Pure ASGI, so nothing is buffered here: a Content-Length over the limit is refused at once, without reading a
byte; a streamed (chunked) body is counted as it arrives and refused at the chunk that passes the limit."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.dialects import answering_dialect
from gateway.errors import Refusal


class BodyTooLarge(HTTPException):
    """Raised to whoever reads past the limit. An HTTPException, so that FastAPI's body parsing passes it on
    instead of calling it a malformed body; the middleware answers in place of whatever the app then sends."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is larger than {limit} bytes")


def too_large(path: str, limit: int) -> Response:
    refusal = Refusal(413, "PAYLOAD_TOO_LARGE", f"the body is larger than {limit} bytes", path)
    return answering_dialect(path).render_refusal(refusal)


def declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length", "")
    return int(value) if value.isascii() and value.isdigit() else None


class BodyLimitMiddleware:
    """`limit` bytes for every request, except the routes in `larger` (route path -> its own limit, e.g. the
    operators' upload of voucher codes)."""

    def __init__(self, app: ASGIApp, limit: int, larger: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.larger = [(compile_path(path)[0], bound) for path, bound in (larger or {}).items()]

    def limit_for(self, path: str) -> int:
        return next((bound for pattern, bound in self.larger if pattern.fullmatch(path)), self.limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.limit_for(path)
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            await too_large(path, limit)(scope, receive, send)
            return

        received = 0
        overflowed = started = refused = False

        async def receive_within_limit() -> Message:
            nonlocal received, overflowed
            if overflowed:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    overflowed = True
                    raise BodyTooLarge(limit)
            return message

        async def send_unless_refused(message: Message) -> None:
            # Once the body overflowed, the app's own answer (a 400 for a body cut short, a canonical 413) gives
            # way to the 413 of the API the request was sent to.
            nonlocal started, refused
            if refused:
                return
            if message["type"] == "http.response.start":
                if overflowed:
                    refused = True
                    await too_large(path, limit)(scope, receive, send)
                    return
                started = True
            await send(message)

        try:
            await self.app(scope, receive_within_limit, send_unless_refused)
        except BodyTooLarge:
            if started:
                raise  # the answer had begun before the body overflowed: the server cuts the connection
            if not refused:
                await too_large(path, limit)(scope, receive, send)


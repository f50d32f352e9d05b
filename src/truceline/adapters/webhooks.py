"""The real :class:`~truceline.services.delivery.Transport`: an HTTPS POST with httpx.

Redirects are not followed (a notification goes to the URL that was registered, nowhere
else), and each request has a timeout, so one slow receiver cannot hold a delivery pass.
"""

from __future__ import annotations

import httpx

#: Seconds to connect and to wait for the answer, per delivery.
TIMEOUT_S = 10.0


class HttpxTransport:
    """POST over one kept-alive client (close it when the pass is done)."""

    def __init__(self, timeout_s: float = TIMEOUT_S) -> None:
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        return self._client.post(url, content=body, headers=headers).status_code

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpxTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

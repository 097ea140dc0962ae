"""WeCom (企业微信) server API client: access token, message/send, card updates, media.

The token is cached until shortly before it expires. A call answered 40014/42001 (token
invalid or expired) fetches one new token and is retried once, never in a loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

log = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40014, 42001})
# Retry later with backoff: system busy, frequency limits.
TRANSIENT_ERRORS = frozenset({-1, 45009, 45033, 45011})
# Fixed only by an operator in the admin console or the settings.
CONFIG_ERRORS = {
    40001: "WECOM_SECRET is wrong (invalid credential)",
    40013: "WECOM_CORP_ID is wrong (invalid corpid)",
    40056: "WECOM_AGENT_ID is wrong (invalid agentid)",
    48002: "the app lacks the API permission",
    60020: "this server's IP is not in the app's 企业可信IP (trusted IP) list",
    60011: "the app's visible range (可见范围) does not include the member",
}
# The recipient cannot be reached by this app at all (left the company, not visible).
RECIPIENT_ERRORS = frozenset({81013, 60111})
TOKEN_MARGIN = 300.0
TIMEOUT = httpx.Timeout(10.0, connect=5.0)

JSON = dict[str, Any]


class WeComApiError(Exception):
    """WeCom answered a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str, path: str) -> None:
        super().__init__(f"{path}: errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path

    @property
    def transient(self) -> bool:
        return self.errcode in TRANSIENT_ERRORS or self.errcode in TOKEN_ERRORS

    @property
    def configuration(self) -> bool:
        return self.errcode in CONFIG_ERRORS


class WeComUnreachable(Exception):
    """The API could not be reached or answered something that is not WeCom JSON."""


def _errcode(data: JSON) -> int:
    try:
        return int(data.get("errcode", 0))
    except (TypeError, ValueError):
        return -1


class WeComApi:
    """One self-built app's API client; `base_url` is scheme and host (WECOM_API_BASE_URL)."""

    def __init__(
        self,
        base_url: str,
        corp_id: str,
        secret: str,
        agent_id: str,
        http: httpx.AsyncClient | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.corp_id = corp_id
        self._secret = secret
        self.agent_id: int | str = int(agent_id) if agent_id.isdigit() else agent_id
        self._http = http or httpx.AsyncClient(timeout=TIMEOUT)
        self._owns_http = http is None
        self._monotonic = monotonic
        self._token: str | None = None
        self._token_expiry = 0.0
        self._token_lock = asyncio.Lock()

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # --- token -------------------------------------------------------------------------------

    async def access_token(self, stale: str | None = None) -> str:
        """The cached token, or a new one if none is valid or `stale` is the cached one."""
        async with self._token_lock:
            valid = self._token is not None and self._monotonic() < self._token_expiry
            if valid and self._token != stale:
                assert self._token is not None
                return self._token
            data = await self._request(
                "GET",
                "/cgi-bin/gettoken",
                params={"corpid": self.corp_id, "corpsecret": self._secret},
            )
            self._check("/cgi-bin/gettoken", data)
            token = data.get("access_token")
            if not isinstance(token, str) or not token:
                raise WeComUnreachable("gettoken answered without an access_token")
            lifetime = float(data.get("expires_in") or 7200)
            self._token = token
            # Renew a little early so a token never expires between check and use.
            self._token_expiry = self._monotonic() + max(lifetime - TOKEN_MARGIN, lifetime / 2)
            return token

    # --- calls -------------------------------------------------------------------------------

    async def post(self, path: str, body: JSON) -> JSON:
        """POST JSON with the access token (see `_with_token`)."""

        async def call(token: str) -> JSON:
            return await self._request("POST", path, params={"access_token": token}, json_body=body)

        return await self._with_token(path, call)

    async def _with_token(self, path: str, call: Callable[[str], Awaitable[JSON]]) -> JSON:
        """Make the call; on 40014/42001 fetch one new token and retry once, never more."""
        token = await self.access_token()
        data = await call(token)
        if _errcode(data) in TOKEN_ERRORS:
            log.info("WeCom token rejected on %s (errcode %s); fetching a new one", path, data)
            data = await call(await self.access_token(stale=token))
        self._check(path, data)
        return data

    async def send(self, message: JSON) -> JSON:
        """message/send for this app's agent id."""
        return await self.post("/cgi-bin/message/send", {"agentid": self.agent_id, **message})

    async def update_card_button(self, user_id: str, response_code: str, label: str) -> JSON:
        """Turn the pressed card's buttons into one disabled button reading `label`."""
        body = {
            "userids": [user_id],
            "agentid": self.agent_id,
            "response_code": response_code,
            "button": {"replace_name": label},
        }
        return await self.post("/cgi-bin/message/update_template_card", body)

    async def upload(self, kind: str, file_name: str, content: bytes, mime_type: str) -> str:
        """media/upload a temporary file (3 days) of `kind` image/file; return its media_id."""
        path = "/cgi-bin/media/upload"

        async def call(token: str) -> JSON:
            try:
                response = await self._http.post(
                    self.base_url + path,
                    params={"access_token": token, "type": kind},
                    files={"media": (file_name, content, mime_type)},
                )
            except httpx.HTTPError as error:
                raise WeComUnreachable(f"{path}: {error!r}") from error
            if response.status_code >= 400:
                raise WeComUnreachable(f"{path}: HTTP {response.status_code}")
            return _json(response.content)

        data = await self._with_token(path, call)
        media_id = data.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise WeComUnreachable(f"{path} answered without a media_id")
        return media_id

    @asynccontextmanager
    async def media(self, media_id: str) -> AsyncIterator[httpx.Response]:
        """Open media/get as a stream; the body is read only if the caller wants it."""
        token = await self.access_token()
        for attempt in (1, 2):
            url = f"{self.base_url}/cgi-bin/media/get"
            params = {"access_token": token, "media_id": media_id}
            try:
                async with self._http.stream("GET", url, params=params) as response:
                    kind = response.headers.get("content-type", "")
                    if response.status_code >= 400:
                        raise WeComUnreachable(f"media/get: HTTP {response.status_code}")
                    if kind.startswith(("application/json", "text/plain")):
                        # Errors come back as JSON with HTTP 200 instead of the file.
                        data = _json(await response.aread())
                        if attempt == 1 and _errcode(data) in TOKEN_ERRORS:
                            token = await self.access_token(stale=token)
                            continue
                        self._check("/cgi-bin/media/get", data)
                    yield response
                    return
            except httpx.HTTPError as error:
                raise WeComUnreachable(f"media/get: {error!r}") from error

    # --- plumbing ----------------------------------------------------------------------------

    async def _request(
        self, method: str, path: str, params: dict[str, str], json_body: JSON | None = None
    ) -> JSON:
        try:
            response = await self._http.request(
                method, self.base_url + path, params=params, json=json_body
            )
        except httpx.HTTPError as error:
            raise WeComUnreachable(f"{path}: {error!r}") from error
        if response.status_code >= 400:
            raise WeComUnreachable(f"{path}: HTTP {response.status_code}")
        return _json(response.content)

    def _check(self, path: str, data: JSON) -> None:
        errcode = _errcode(data)
        if errcode == 0:
            return
        error = WeComApiError(errcode, str(data.get("errmsg", "")), path)
        if error.configuration:
            log.error("WeCom configuration error: %s — %s", CONFIG_ERRORS[errcode], error)
        raise error


def _json(content: bytes) -> JSON:
    try:
        data = json.loads(content)
    except ValueError as error:
        raise WeComUnreachable("WeCom answered something that is not JSON") from error
    if not isinstance(data, dict):
        raise WeComUnreachable("WeCom answered JSON that is not an object")
    return data

"""Who may talk to the bot and how the bot proves who it is: Bot Framework JWTs in, msal out.

Inbound ("Authentication with the Bot Connector API"): every request carries `Authorization: Bearer
<JWT>` signed RS256 by a key published at the `jwks_uri` of the Bot Framework OpenID metadata; the
issuer is https://api.botframework.com, the audience our app id, it has not expired (5 minutes of
clock skew allowed), its `serviceUrl` claim equals the activity's serviceUrl, and the signing key is
endorsed for the activity's channel. The Agents SDK's JwtTokenValidator is not used because it
takes the key set from a fixed Microsoft address (so no local issuer can stand in for it in tests)
and checks neither the serviceUrl claim nor the endorsements; pyjwt does the cryptography here.

Outbound: msal's ConfidentialClientApplication (client credentials against the tenant's authority)
issues the tokens for the Bot Connector and Microsoft Graph. The SDK's MsalAuth wraps the same
class but always validates the authority against Microsoft's instance discovery, which a local
token endpoint cannot pass, so msal is used directly.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import jwt
import msal
import requests

log = logging.getLogger(__name__)

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
CLOCK_SKEW = 300  # seconds
KEYS_TTL = 24 * 3600  # re-read the key set daily, and at once when an unknown key id turns up
KEYS_MIN_REFRESH = 60  # but never more than once a minute, whatever tokens arrive
# When the keys cannot be read, a request waits this long for them (the Bot Connector gives up
# after 15 s); after a failed round, requests in the next seconds fail at once.
KEYS_BACKOFF = (0.5, 1.0, 2.0, 4.0)
KEYS_MIN_RETRY = 2.0

FetchJson = Callable[[str], Awaitable[Any]]


class Unauthorized(Exception):
    """The request's credentials are missing or do not check out; answer 401."""


class Unreachable(Exception):
    """A document (OpenID metadata, a key set) could not be fetched; the message says why."""


class KeysUnavailable(Exception):
    """The signing keys cannot be read, so no request can be checked; answer 503."""


class BotFrameworkAuth:
    """Validates the Bearer token on each request from the Bot Framework Connector."""

    def __init__(self, *, app_id: str, metadata_url: str, fetch_json: FetchJson) -> None:
        self.app_id = app_id
        self.metadata_url = metadata_url
        self.fetch_json = fetch_json
        self._keys: dict[str, jwt.PyJWK] = {}
        self._endorsements: dict[str, list[str]] = {}
        self._loaded_at = 0.0
        self.backoff: tuple[float, ...] = KEYS_BACKOFF
        self.min_retry = KEYS_MIN_RETRY
        self._failed_at = -KEYS_MIN_RETRY
        self._failure = ""
        self._lock = asyncio.Lock()

    async def check(
        self, authorization: str | None, *, service_url: str | None, channel_id: str | None
    ) -> None:
        """Return if `authorization` is acceptable for this activity; else raise Unauthorized."""
        token = _bearer(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("malformed token") from exc
        if header.get("alg") != "RS256":
            raise Unauthorized("token not signed with RS256")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise Unauthorized("token names no signing key")
        key = await self._key(kid)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                audience=self.app_id,
                issuer=BOT_FRAMEWORK_ISSUER,
                leeway=CLOCK_SKEW,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"token rejected ({type(exc).__name__})") from exc
        claimed_url = claims.get("serviceUrl") or claims.get("serviceurl")
        if not service_url or not _same_url(claimed_url, service_url):
            raise Unauthorized("serviceUrl claim does not match the activity")
        endorsed = self._endorsements.get(kid)
        if channel_id and endorsed is not None and channel_id not in endorsed:
            raise Unauthorized("signing key not endorsed for this channel")

    async def _key(self, kid: str) -> jwt.PyJWK:
        async with self._lock:
            age = time.monotonic() - self._loaded_at
            stale = age > KEYS_TTL
            unknown = kid not in self._keys and age > KEYS_MIN_REFRESH
            if not self._loaded_at or stale or unknown:
                await self._load_patiently()
        key = self._keys.get(kid)
        if key is None:
            raise Unauthorized("token signed by an unknown key")
        return key

    async def _load_patiently(self) -> None:
        """Read the keys, retrying with back-off for a few seconds; keep old keys if that fails."""
        if time.monotonic() - self._failed_at < self.min_retry and not self._keys:
            raise KeysUnavailable(self._failure)
        for delay in (*self.backoff, None):
            try:
                await self._load()
                return
            except Unreachable as exc:
                self._failure = str(exc)
            if delay is not None:
                log.warning(
                    "Bot Framework signing keys unreachable (%s); retrying in %.1fs",
                    self._failure,
                    delay,
                )
                await asyncio.sleep(delay)
        self._failed_at = time.monotonic()
        if not self._keys:
            raise KeysUnavailable(self._failure)
        # Keys rotate slowly: the ones read earlier still check today's tokens.
        self._loaded_at = time.monotonic() - KEYS_TTL + KEYS_MIN_REFRESH
        log.warning(
            "could not refresh the signing keys (%s); using those read before", self._failure
        )

    async def _load(self) -> None:
        metadata = await self.fetch_json(self.metadata_url)
        jwks_uri = metadata.get("jwks_uri") if isinstance(metadata, dict) else None
        if not isinstance(jwks_uri, str):
            raise Unauthorized("OpenID metadata has no jwks_uri")
        keyset = await self.fetch_json(jwks_uri)
        keys: dict[str, jwt.PyJWK] = {}
        endorsements: dict[str, list[str]] = {}
        for entry in keyset.get("keys", []) if isinstance(keyset, dict) else []:
            kid = entry.get("kid")
            if not isinstance(kid, str) or entry.get("kty") != "RSA":
                continue
            try:
                keys[kid] = jwt.PyJWK(entry, algorithm="RS256")
            except jwt.PyJWTError:
                log.warning("skipped an unreadable signing key %s", kid)
                continue
            if isinstance(entry.get("endorsements"), list):
                endorsements[kid] = [str(e) for e in entry["endorsements"]]
        self._keys, self._endorsements = keys, endorsements
        self._loaded_at = time.monotonic()


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("no Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise Unauthorized("Authorization is not a Bearer token")
    return token


def _same_url(claimed: object, actual: str) -> bool:
    return isinstance(claimed, str) and claimed.rstrip("/").lower() == actual.rstrip("/").lower()


class TokenSource:
    """The app's own access tokens from msal (client credentials), cached by msal until expiry.

    msal reads the tenant's OpenID configuration when its client is built, so the client is built
    on the first token asked for, not at start-up: the bot starts while Microsoft's login is
    unreachable, and each later request tries again (the caller retries with back-off).
    """

    def __init__(
        self,
        *,
        app_id: str,
        password: str,
        authority: str,
        ca_bundle: str | None = None,
        known_authority: bool = True,
    ) -> None:
        self._app_id = app_id
        self._password = password
        self._authority = authority
        self._ca_bundle = ca_bundle
        self._known_authority = known_authority
        self._app: msal.ConfidentialClientApplication | None = None
        self._building = threading.Lock()

    def _client(self) -> msal.ConfidentialClientApplication:
        with self._building:
            if self._app is None:
                self._app = msal.ConfidentialClientApplication(
                    client_id=self._app_id,
                    client_credential=self._password,
                    authority=self._authority,
                    # A sovereign or local authority is not in Microsoft's instance list; it is
                    # trusted because it was configured, so skip the discovery that rejects it.
                    instance_discovery=None if self._known_authority else False,
                    http_client=_TrustingClient(self._ca_bundle) if self._ca_bundle else None,
                )
            return self._app

    def _acquire(self, scope: str) -> Any:
        try:
            return self._client().acquire_token_for_client(scopes=[scope])
        except (requests.RequestException, ValueError) as exc:
            # msal raises ValueError when the tenant's OpenID configuration cannot be read.
            raise TokenError(
                f"Microsoft's login at {_host(self._authority)} could not be reached "
                f"({type(exc).__name__}) for a token for {scope}",
                retryable=True,
            ) from exc

    async def token(self, scope: str) -> str:
        """An access token for `scope` (e.g. the Bot Connector or Microsoft Graph)."""
        result = await asyncio.to_thread(self._acquire, scope)
        access = result.get("access_token") if isinstance(result, dict) else None
        if not access:
            # msal's error fields describe the failure without echoing the secret.
            reason = result.get("error", "unknown") if isinstance(result, dict) else "unknown"
            raise TokenError(
                f"could not get a token for {scope}: {reason}",
                retryable=reason in _PASSING_ERRORS,
            )
        return str(access)


# msal's error codes for a failure that may pass (the service was busy or unreachable).
_PASSING_ERRORS = frozenset({"temporarily_unavailable", "server_error", "unknown"})


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


class _TrustingClient:
    """msal's HTTP client, verifying TLS with our CA bundle on every call.

    requests lets REQUESTS_CA_BUNDLE in the environment override a session's own `verify`, so
    the bundle is passed with each request instead.
    """

    def __init__(self, ca_bundle: str) -> None:
        self._session = requests.Session()
        self._ca_bundle = ca_bundle

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        """GET with our CA bundle."""
        return self._session.get(url, verify=self._ca_bundle, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        """POST with our CA bundle."""
        return self._session.post(url, verify=self._ca_bundle, **kwargs)

    def close(self) -> None:
        """Close the connections."""
        self._session.close()


class TokenError(Exception):
    """msal could not issue a token: unreachable (`retryable`) or refused (secret, tenant)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable

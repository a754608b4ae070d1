"""Third-party sign-in rules: issue a state, check it once on the way back, sign in or bind the provider's identity.

A sign-in state is bound to the client that started the flow (RFC 9700 section 4.7): /authorize hands that client a
random state_key, and only a callback that brings it back (header or cookie) may use the state. A code that leaks, or
an attacker's own code planted in a victim's browser, then cannot finish a flow that another client started.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from chalicelib.accounts import service as accounts_service
from chalicelib.accounts.oauth.config import OAuthSettings
from chalicelib.accounts.oauth.providers import ProviderDirectory, ProviderIdentity
from chalicelib.accounts.oauth.repository import OAuthState, OAuthStateRepository
from chalicelib.accounts.repository import AccountsRepository
from chalicelib.clock import epoch_seconds, now_iso
from chalicelib.errors import Unauthorized, ValidationError


def begin_authorization(
    states: OAuthStateRepository,
    settings: OAuthSettings,
    directory: ProviderDirectory,
    provider: str,
    redirect_uri: str,
    client: str = "pc",
    purpose: str = "login",
    user_id: str | None = None,
) -> dict[str, Any]:
    """The provider's authorization URL and a fresh single-use state bound to provider, redirect URI, purpose, user."""
    oauth_provider = directory.get(provider)
    if client == "app" and provider != "weibo":
        raise ValidationError(
            "display=client is Weibo's in-app sign-in",
            errors=[{"field": "display", "message": "only with provider weibo"}],
        )
    if purpose == "bind" and user_id is None:
        raise Unauthorized("Sign in first: a binding state is issued to the signed-in account")
    if not settings.redirect_allowed(redirect_uri):
        raise ValidationError(
            "redirect_uri is not on this stage's allow-list",
            errors=[{"field": "redirect_uri", "message": "not an allowed redirect URI"}],
        )
    state = secrets.token_hex(20)  # WeChat takes only [a-zA-Z0-9] in state, at most 128 bytes
    state_key = secrets.token_urlsafe(32)  # 256 bits; the client keeps it, we keep its hash
    states.save_state(
        OAuthState(
            state=state,
            provider=provider,
            redirect_uri=redirect_uri,
            purpose=purpose,
            client=client,
            user_id=user_id if purpose == "bind" else None,
            created_at=now_iso(),
            expires_at=epoch_seconds() + settings.state_ttl_seconds,
            key_hash=state_key_hash(state_key),
        )
    )
    return {
        "authorize_url": oauth_provider.authorize_url(state, redirect_uri, client),
        "state": state,
        "state_key": state_key,
        "expires_in": settings.state_ttl_seconds,
    }


def state_key_hash(state_key: str) -> str:
    return hashlib.sha256(state_key.encode("utf-8", "surrogatepass")).hexdigest()


def sign_in_with_provider(
    repo: AccountsRepository,
    states: OAuthStateRepository,
    directory: ProviderDirectory,
    provider: str,
    code: str,
    state: str,
    state_key: str | None,
) -> dict[str, Any]:
    """The callback (and any in-app sign-in): tokens exactly as a password sign-in answers, plus whether the account
    was just created. Only the client holding the state's state_key may use it: missing or wrong key 401, and the
    state stays usable by its own client."""
    if not state_key:
        raise Unauthorized("The state_key that /authorize returned is missing (X-OAuth-State-Key or its cookie)")
    oauth_provider = directory.get(provider)
    issued = states.take_state(state, state_key_hash(state_key))
    if issued is None:
        if states.state_exists(state):
            raise Unauthorized("This state was issued to another client: its state_key does not match")
        raise _bad_state("Unknown or already used state; start the sign-in again")
    _check_state(issued, provider, "login", None)
    identity = oauth_provider.identity(code, issued.redirect_uri, issued.client)
    session, is_new = accounts_service.sign_in_with_identity(
        repo, provider, identity.subject, identity.nickname, identity.avatar_url
    )
    return session.as_dict() | {"is_new_user": is_new}


def bind_provider(
    repo: AccountsRepository,
    states: OAuthStateRepository,
    directory: ProviderDirectory,
    user_id: str,
    provider: str,
    code: str,
    state: str,
) -> dict[str, Any]:
    """Bind the identity behind `code` to the signed-in account, with a state issued to that account for binding."""
    identity = _identity_for(states, directory, provider, code, state, purpose="bind", user_id=user_id)
    return accounts_service.bind_identity(repo, user_id, provider, identity.subject, identity.nickname)


def _identity_for(
    states: OAuthStateRepository,
    directory: ProviderDirectory,
    provider: str,
    code: str,
    state: str,
    purpose: str,
    user_id: str | None,
) -> ProviderIdentity:
    oauth_provider = directory.get(provider)
    issued = _take_state(states, state, provider, purpose, user_id)
    return oauth_provider.identity(code, issued.redirect_uri, issued.client)


def _take_state(
    states: OAuthStateRepository, state: str, provider: str, purpose: str, user_id: str | None
) -> OAuthState:
    """The state, consumed: any state presented is used up, even one presented wrongly (a wrong use is suspect)."""
    issued = states.take_state(state)
    if issued is None:
        raise _bad_state("Unknown or already used state; start the sign-in again")
    _check_state(issued, provider, purpose, user_id)
    return issued


def _check_state(issued: OAuthState, provider: str, purpose: str, user_id: str | None) -> None:
    if issued.expires_at <= epoch_seconds():
        raise _bad_state("This state has expired; start the sign-in again")
    if issued.provider != provider:
        raise _bad_state(f"This state was issued for {issued.provider}, not {provider}")
    if issued.purpose != purpose:
        raise _bad_state(f"This state was issued for {issued.purpose}, not {purpose}")
    if purpose == "bind" and issued.user_id != user_id:
        raise _bad_state("This state was issued to another account")


def _bad_state(message: str) -> ValidationError:
    return ValidationError(message, errors=[{"field": "state", "message": message}])

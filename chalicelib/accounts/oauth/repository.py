"""The only module that touches the OAuth state items: issue one, and take it back exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pynamodb.exceptions import DeleteError
from pynamodb.expressions.condition import Condition

from chalicelib.accounts.oauth.models import OAuthStateModel


@dataclass(frozen=True)
class OAuthState:
    """An authorization in flight: what the callback must match, and until when."""

    state: str
    provider: str
    redirect_uri: str
    purpose: str
    client: str
    user_id: str | None
    created_at: str
    expires_at: int
    key_hash: str | None = None  # SHA-256 (hex) of the state_key; the key itself is never stored


class OAuthStateRepository(Protocol):
    def save_state(self, state: OAuthState) -> None:
        """Store a new state (its random value never collides; the put is conditional all the same)."""

    def take_state(self, state: str, key_hash: str | None = None) -> OAuthState | None:
        """Remove the state and return what it held; None if it is unknown or was already taken, or (key_hash
        given) if its key hash is another: then the state stays, usable with its own key.

        Of two concurrent takes of one state, exactly one gets it."""

    def state_exists(self, state: str) -> bool:
        """Whether the state is still there (to tell a wrong key from an unknown or used state)."""


class DynamoOAuthStateRepository:
    """OAuthStateRepository on the accounts table."""

    def save_state(self, state: OAuthState) -> None:
        OAuthStateModel(
            OAuthStateModel.key(state.state),
            "STATE",
            provider=state.provider,
            redirect_uri=state.redirect_uri,
            purpose=state.purpose,
            client=state.client,
            user_id=state.user_id,
            created_at=state.created_at,
            expires_at=state.expires_at,
            key_hash=state.key_hash,
        ).save(condition=OAuthStateModel.pk.does_not_exist())

    def state_exists(self, state: str) -> bool:
        try:
            OAuthStateModel.get(OAuthStateModel.key(state), "STATE", consistent_read=True, attributes_to_get=["pk"])
        except OAuthStateModel.DoesNotExist:
            return False
        return True

    def take_state(self, state: str, key_hash: str | None = None) -> OAuthState | None:
        # A conditional delete that returns the old item: the single-use guarantee is DynamoDB's, not a read-then-write.
        try:
            # Model.delete cannot ask for the old item; its table connection can (it knows the key schema).
            condition: Condition = OAuthStateModel.pk.exists()
            if key_hash is not None:
                condition &= OAuthStateModel.key_hash == key_hash
            answer = OAuthStateModel._get_connection().delete_item(
                OAuthStateModel.key(state), "STATE", condition=condition, return_values="ALL_OLD"
            )
        except DeleteError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return None
            raise
        item = OAuthStateModel.from_raw_data(answer["Attributes"])
        return OAuthState(
            state=state,
            provider=item.provider,
            redirect_uri=item.redirect_uri,
            purpose=item.purpose,
            client=item.client,
            user_id=item.user_id,
            created_at=item.created_at,
            expires_at=int(item.expires_at),
            key_hash=item.key_hash,
        )

"""Where the personal center keeps addresses, favorites, footprints and search history (the Protocol the services
use): the Dynamo implementation is chalicelib/profile/dynamo_repository.py, the only module touching its models."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from chalicelib.dynamo import PendingRead, PendingSlice
from chalicelib.profile.domain import AddressBook

DefaultChange = Literal["set", "clear"] | None


class ProfileRepository(Protocol):
    def address_book(self, user_id: str) -> AddressBook: ...
    def address_book_slice(self, user_id: str) -> PendingSlice[AddressBook]:
        """address_book as a slice of the user's partition, read with others (dynamo.read_slices)."""

    def addresses(self, user_id: str) -> list[dict[str, Any]]: ...
    def address(self, user_id: str, address_id: str) -> dict[str, Any] | None: ...
    def address_read(self, user_id: str, address_id: str) -> PendingRead[dict[str, Any] | None]:
        """`address` as a read joined with others (dynamo.read_together: one BatchGetItem over tables)."""
        return PendingRead(None, None, lambda _: self.address(user_id, address_id))

    def add_address(self, user_id: str, address: dict[str, Any], seen: AddressBook, max_count: int) -> None:
        """Store a new address and count it (only while under max_count); if it is the default, the book's default
        moves to it and the previous default is cleared. ChangedMeanwhile if the book is not as `seen` (or full)."""

    def replace_address(
        self, user_id: str, address: dict[str, Any], seen: AddressBook, default_change: DefaultChange
    ) -> None:
        """Replace an address's fields and, with default_change, make it (or stop it being) the default.
        NotFound if the address is gone; ChangedMeanwhile if the book is not as `seen`."""

    def remove_address(self, user_id: str, address_id: str, seen: AddressBook, promote: str | None) -> None:
        """Delete an address; if it was the default, `promote` becomes the default (or none is).
        NotFound if the address is gone; ChangedMeanwhile if the book is not as `seen`."""

    def add_favorite(self, user_id: str, product_id: str, favorited_at: str, order_key: str) -> bool:
        """Favorite a product and count it on the product, at once; False if it was a favorite already.
        NotFound if there is no such product."""

    def favorite(self, user_id: str, product_id: str) -> dict[str, Any] | None: ...
    def remove_favorite(self, user_id: str, favorite: dict[str, Any]) -> None:
        """Remove the favorite as read and uncount it; ChangedMeanwhile if it changed since it was read."""

    def favorites(
        self, user_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...
    def product_summaries(self, product_ids: list[str]) -> dict[str, dict[str, Any]]: ...
    def footprints(self, user_id: str) -> list[dict[str, Any]]: ...
    def save_footprint(self, user_id: str, footprint: dict[str, Any]) -> None:
        """Keep the footprint unless the stored one for that product is as new or newer."""

    def drop_footprints(self, user_id: str, footprints: list[dict[str, Any]]) -> None:
        """Delete these footprints unless they were refreshed since they were read."""

    def clear_footprints(self, user_id: str) -> None: ...
    def searches(self, user_id: str) -> list[dict[str, Any]]: ...
    def save_search(self, user_id: str, search: dict[str, Any]) -> None:
        """Keep the search unless the stored one for that keyword is as new or newer."""

    def drop_searches(self, user_id: str, searches: list[dict[str, Any]]) -> None:
        """Delete these searches unless they were repeated since they were read."""

    def clear_searches(self, user_id: str) -> None: ...
    def clear_addresses(self, user_id: str) -> None:
        """Delete every address of the user and their address book (the account is being deleted)."""

    def account_closed(self, user_id: str) -> bool:
        """Whether the user deleted their account (late footprints and searches of it are dropped)."""

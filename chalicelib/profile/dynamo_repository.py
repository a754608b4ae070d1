"""The personal center on DynamoDB: the only module that touches its models (and the catalog's, for favorite counts and
summaries)."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.accounts.domain import DELETED
from chalicelib.accounts.models import UserModel
from chalicelib.catalog.models import ProductItem, product_pk
from chalicelib.catalog.repository import DynamoCatalogRepository
from chalicelib.dynamo import PendingRead, PendingSlice, cancelled_conditions, connection, newest_page
from chalicelib.errors import ChangedMeanwhile, NotFound
from chalicelib.profile.domain import AddressBook
from chalicelib.profile.models import (
    ADDRESS_BOOK_SK,
    ADDRESS_PREFIX,
    FAVORITE_ENTRY_PREFIX,
    FAVORITE_PREFIX,
    FOOTPRINT_PREFIX,
    SEARCH_PREFIX,
    AddressBookModel,
    AddressModel,
    FavoriteEntryModel,
    FavoriteModel,
    FootprintModel,
    SearchModel,
    user_pk,
)
from chalicelib.profile.repository import DefaultChange

ADDRESS_FIELDS = ("receiver", "phone", "province", "city", "district", "detail")


def _address_dict(item: AddressModel) -> dict[str, Any]:
    return {
        "address_id": item.address_id,
        **{name: getattr(item, name) for name in ADDRESS_FIELDS},
        "is_default": bool(item.is_default),
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def _address_key(user_id: str, address_id: str) -> AddressModel:
    return AddressModel(user_pk(user_id), f"{ADDRESS_PREFIX}{address_id}")


def _book_key(user_id: str) -> AddressBookModel:
    return AddressBookModel(user_pk(user_id), ADDRESS_BOOK_SK)


def _default_is(default_id: str | None) -> Condition:
    if default_id is None:
        return AddressBookModel.default_id.does_not_exist()
    return AddressBookModel.default_id == default_id


def _entry_sk(favorite: dict[str, Any]) -> str:
    return f"{FAVORITE_ENTRY_PREFIX}{favorite['order_key']}#{favorite['product_id']}"


def _product_counter(product_id: str, delta: int) -> tuple[ProductItem, list[Any], Condition]:
    return ProductItem(product_pk(product_id), "META"), [ProductItem.favorite_count.add(delta)], ProductItem.pk.exists()


def _conditions_or_retry(error: TransactWriteError, actions: int) -> list[bool]:
    """Which actions' conditions failed; ChangedMeanwhile for a cancellation by a concurrent transaction."""
    reasons = getattr(error, "cancellation_reasons", None)
    if not reasons:
        raise error
    failed = [*cancelled_conditions(error), *[False] * actions][:actions]
    if not any(failed):
        raise ChangedMeanwhile() from error
    return failed


def _is_condition_failure(error: PutError | DeleteError) -> bool:
    return error.cause_response_code == "ConditionalCheckFailedException"


class DynamoProfileRepository:
    """ProfileRepository on the accounts table (and the catalog table's product items)."""

    # -- addresses -----------------------------------------------------------------------------------------------

    def address_book(self, user_id: str) -> AddressBook:
        try:
            item = AddressBookModel.get(user_pk(user_id), ADDRESS_BOOK_SK, consistent_read=True)
        except DoesNotExist:
            return AddressBook()
        return AddressBook(address_count=int(item.address_count or 0), default_id=item.default_id)

    def address_book_slice(self, user_id: str) -> PendingSlice[AddressBook]:
        def parse(raw: list[dict[str, Any]]) -> AddressBook:
            if not raw:
                return AddressBook()
            item = AddressBookModel.from_raw_data(raw[0])
            return AddressBook(address_count=int(item.address_count or 0), default_id=item.default_id)

        table = AddressBookModel.Meta.table_name
        return PendingSlice(table, user_pk(user_id), ADDRESS_BOOK_SK, ADDRESS_BOOK_SK, parse)

    def addresses(self, user_id: str) -> list[dict[str, Any]]:
        query = AddressModel.query(user_pk(user_id), AddressModel.sk.startswith(ADDRESS_PREFIX), consistent_read=True)
        return [_address_dict(item) for item in query]

    def address(self, user_id: str, address_id: str) -> dict[str, Any] | None:
        try:
            item = AddressModel.get(user_pk(user_id), f"{ADDRESS_PREFIX}{address_id}", consistent_read=True)
            return _address_dict(item)
        except DoesNotExist:
            return None

    def address_read(self, user_id: str, address_id: str) -> PendingRead[dict[str, Any] | None]:
        key = (user_pk(user_id), f"{ADDRESS_PREFIX}{address_id}")
        return PendingRead(AddressModel, key, lambda item: _address_dict(item) if item is not None else None)

    def add_address(self, user_id: str, address: dict[str, Any], seen: AddressBook, max_count: int) -> None:
        book_actions: list[Any] = [AddressBookModel.address_count.add(1)]
        book_condition = AddressBookModel.address_count.does_not_exist() | (AddressBookModel.address_count < max_count)
        if address["is_default"]:
            book_actions.append(AddressBookModel.default_id.set(address["address_id"]))
            book_condition = book_condition & _default_is(seen.default_id)
        item = _address_key(user_id, address["address_id"])
        for name in (*ADDRESS_FIELDS, "is_default", "created_at", "updated_at"):
            setattr(item, name, address[name])
        item.address_id = address["address_id"]
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(_book_key(user_id), actions=book_actions, condition=book_condition)
                transaction.save(item, condition=AddressModel.pk.does_not_exist())
                if address["is_default"] and seen.default_id:
                    transaction.update(
                        _address_key(user_id, seen.default_id),
                        actions=[AddressModel.is_default.set(False)],
                        condition=AddressModel.pk.exists(),
                    )
        except TransactWriteError as error:
            _conditions_or_retry(error, 3)
            raise ChangedMeanwhile() from error

    def replace_address(
        self, user_id: str, address: dict[str, Any], seen: AddressBook, default_change: DefaultChange
    ) -> None:
        address_id = address["address_id"]
        actions: list[Any] = [getattr(AddressModel, name).set(address[name]) for name in ADDRESS_FIELDS]
        actions.append(AddressModel.updated_at.set(address["updated_at"]))
        if default_change is not None:
            actions.append(AddressModel.is_default.set(default_change == "set"))
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.update(
                    _address_key(user_id, address_id), actions=actions, condition=AddressModel.pk.exists()
                )
                if default_change == "set":
                    transaction.update(
                        _book_key(user_id),
                        actions=[AddressBookModel.default_id.set(address_id)],
                        condition=AddressBookModel.pk.exists() & _default_is(seen.default_id),
                    )
                    if seen.default_id:
                        transaction.update(
                            _address_key(user_id, seen.default_id),
                            actions=[AddressModel.is_default.set(False)],
                            condition=AddressModel.pk.exists(),
                        )
                elif default_change == "clear":
                    transaction.update(
                        _book_key(user_id),
                        actions=[AddressBookModel.default_id.remove()],
                        condition=_default_is(address_id),
                    )
        except TransactWriteError as error:
            if _conditions_or_retry(error, 3)[0]:
                raise NotFound("No such address") from error
            raise ChangedMeanwhile() from error

    def remove_address(self, user_id: str, address_id: str, seen: AddressBook, promote: str | None) -> None:
        book_actions: list[Any] = [AddressBookModel.address_count.add(-1)]
        if seen.default_id == address_id:
            book_actions.append(
                AddressBookModel.default_id.set(promote) if promote else AddressBookModel.default_id.remove()
            )
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.delete(_address_key(user_id, address_id), condition=AddressModel.pk.exists())
                transaction.update(
                    _book_key(user_id),
                    actions=book_actions,
                    condition=AddressBookModel.pk.exists() & _default_is(seen.default_id),
                )
                if promote:
                    transaction.update(
                        _address_key(user_id, promote),
                        actions=[AddressModel.is_default.set(True)],
                        condition=AddressModel.pk.exists(),
                    )
        except TransactWriteError as error:
            if _conditions_or_retry(error, 3)[0]:
                raise NotFound("No such address") from error
            raise ChangedMeanwhile() from error

    # -- favorites -----------------------------------------------------------------------------------------------

    def add_favorite(self, user_id: str, product_id: str, favorited_at: str, order_key: str) -> bool:
        favorite = {"product_id": product_id, "favorited_at": favorited_at, "order_key": order_key}
        marker = FavoriteModel(
            user_pk(user_id),
            f"{FAVORITE_PREFIX}{product_id}",
            product_id=product_id,
            favorited_at=favorited_at,
            order_key=order_key,
        )
        entry = FavoriteEntryModel(
            user_pk(user_id), _entry_sk(favorite), product_id=product_id, favorited_at=favorited_at
        )
        product, actions, exists = _product_counter(product_id, +1)
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.save(marker, condition=FavoriteModel.pk.does_not_exist())
                transaction.save(entry)
                transaction.update(product, actions=actions, condition=exists)
        except TransactWriteError as error:
            already, _, no_product = _conditions_or_retry(error, 3)
            if no_product:
                raise NotFound("No such product") from error
            if already:
                return False
            raise
        return True

    def favorite(self, user_id: str, product_id: str) -> dict[str, Any] | None:
        try:
            item = FavoriteModel.get(user_pk(user_id), f"{FAVORITE_PREFIX}{product_id}", consistent_read=True)
        except DoesNotExist:
            return None
        return {"product_id": item.product_id, "favorited_at": item.favorited_at, "order_key": item.order_key}

    def remove_favorite(self, user_id: str, favorite: dict[str, Any]) -> None:
        marker = FavoriteModel(user_pk(user_id), f"{FAVORITE_PREFIX}{favorite['product_id']}")
        unchanged = FavoriteModel.order_key == favorite["order_key"]
        entry = FavoriteEntryModel(user_pk(user_id), _entry_sk(favorite))
        product, actions, exists = _product_counter(favorite["product_id"], -1)
        try:
            with TransactWrite(connection=connection()) as transaction:
                transaction.delete(marker, condition=unchanged)
                transaction.delete(entry)
                transaction.update(product, actions=actions, condition=exists)
        except TransactWriteError as error:
            changed, _, no_product = _conditions_or_retry(error, 3)
            if changed or not no_product:
                raise ChangedMeanwhile() from error
            # The product is gone, and its counter with it: only the favorite remains to remove.
            try:
                with TransactWrite(connection=connection()) as transaction:
                    transaction.delete(marker, condition=unchanged)
                    transaction.delete(entry)
            except TransactWriteError as second:
                _conditions_or_retry(second, 2)
                raise ChangedMeanwhile() from second

    def favorites(
        self, user_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        results, last_key = newest_page(FavoriteEntryModel, user_pk(user_id), FAVORITE_ENTRY_PREFIX, limit, start)
        return [{"product_id": item.product_id, "favorited_at": item.favorited_at} for item in results], last_key

    def product_summaries(self, product_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The products that exist among these (the catalog's own batch read)."""
        return DynamoCatalogRepository().products_by_ids(product_ids) if product_ids else {}

    # -- footprints and search history -----------------------------------------------------------------------------

    def footprints(self, user_id: str) -> list[dict[str, Any]]:
        query = FootprintModel.query(user_pk(user_id), FootprintModel.sk.startswith(FOOTPRINT_PREFIX))
        return [
            {
                "product_id": item.product_id,
                "viewed_at": item.viewed_at,
                "order_key": item.order_key,
                "expires_at": int(item.expires_at),
            }
            for item in query
        ]

    def save_footprint(self, user_id: str, footprint: dict[str, Any]) -> None:
        item = FootprintModel(user_pk(user_id), f"{FOOTPRINT_PREFIX}{footprint['product_id']}", **footprint)
        _save_if_newer(item, FootprintModel)

    def drop_footprints(self, user_id: str, footprints: list[dict[str, Any]]) -> None:
        for footprint in footprints:
            item = FootprintModel(user_pk(user_id), f"{FOOTPRINT_PREFIX}{footprint['product_id']}")
            _delete_if_unchanged(item, FootprintModel.order_key == footprint["order_key"])

    def clear_footprints(self, user_id: str) -> None:
        _clear(FootprintModel, user_id, FOOTPRINT_PREFIX)

    def searches(self, user_id: str) -> list[dict[str, Any]]:
        query = SearchModel.query(user_pk(user_id), SearchModel.sk.startswith(SEARCH_PREFIX))
        return [
            {"keyword": item.keyword, "searched_at": item.searched_at, "order_key": item.order_key, "sk": item.sk}
            for item in query
        ]

    def save_search(self, user_id: str, search: dict[str, Any]) -> None:
        item = SearchModel(
            user_pk(user_id),
            f"{SEARCH_PREFIX}{search['normalized']}",
            keyword=search["keyword"],
            searched_at=search["searched_at"],
            order_key=search["order_key"],
        )
        _save_if_newer(item, SearchModel)

    def drop_searches(self, user_id: str, searches: list[dict[str, Any]]) -> None:
        for search in searches:
            item = SearchModel(user_pk(user_id), search["sk"])
            _delete_if_unchanged(item, SearchModel.order_key == search["order_key"])

    def clear_searches(self, user_id: str) -> None:
        _clear(SearchModel, user_id, SEARCH_PREFIX)

    def clear_addresses(self, user_id: str) -> None:
        query = AddressModel.query(
            user_pk(user_id), AddressModel.sk.startswith(ADDRESS_PREFIX), attributes_to_get=["pk", "sk"]
        )
        with AddressModel.batch_write() as batch:
            for item in query:
                batch.delete(item)
        try:
            AddressBookModel(user_pk(user_id), ADDRESS_BOOK_SK).delete()
        except DeleteError as error:
            if not _is_condition_failure(error):
                raise

    def account_closed(self, user_id: str) -> bool:
        try:
            item = UserModel.get(UserModel.key(user_id), "PROFILE", attributes_to_get=["pk", "status"])
        except DoesNotExist:
            return True
        return item.status == DELETED


def _save_if_newer(item: FootprintModel | SearchModel, model: type[FootprintModel] | type[SearchModel]) -> None:
    """Put unless the stored item is as new or newer: a redelivered or late batch never moves a time back."""
    try:
        item.save(condition=model.pk.does_not_exist() | (model.order_key < item.order_key))
    except PutError as error:
        if not _is_condition_failure(error):
            raise


def _delete_if_unchanged(item: Model, condition: Condition) -> None:
    try:
        item.delete(condition=condition)
    except DeleteError as error:
        if not _is_condition_failure(error):
            raise


def _clear(model: type[FootprintModel] | type[SearchModel], user_id: str, prefix: str) -> None:
    keys = list(model.query(user_pk(user_id), model.sk.startswith(prefix), attributes_to_get=["pk", "sk"]))
    with model.batch_write() as batch:
        for item in keys:
            batch.delete(item)

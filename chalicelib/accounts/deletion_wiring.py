"""Where an account's data lives outside accounts, for its deletion: orders, the personal center, the cart,
reservations and reviews, each through its own context's service."""

from __future__ import annotations


class StoredAccountData:
    """deletion.AccountData on the Dynamo repositories (imported when a deletion runs: rare, off the cold start)."""

    def in_progress(self, user_id: str) -> bool:
        from chalicelib.orders import service as orders
        from chalicelib.orders.wiring import shop

        return orders.has_orders_in_progress(shop(), user_id)

    def erase(self, user_id: str) -> None:
        from chalicelib.cart import service as cart
        from chalicelib.cart.repository import DynamoCartRepository
        from chalicelib.inventory import service as inventory
        from chalicelib.inventory.repository import DynamoInventoryRepository
        from chalicelib.orders import service as orders
        from chalicelib.orders.wiring import shop
        from chalicelib.profile import service as profile
        from chalicelib.profile.repository import DynamoProfileRepository
        from chalicelib.reviews import service as reviews
        from chalicelib.reviews.repository import DynamoReviewsRepository

        profile.erase_user(DynamoProfileRepository(), user_id)
        cart.empty_cart(DynamoCartRepository(), user_id)
        inventory.forget_user(DynamoInventoryRepository(), user_id)
        orders.forget_buyer(shop(), user_id)
        reviews.forget_reviewer(DynamoReviewsRepository(), user_id)

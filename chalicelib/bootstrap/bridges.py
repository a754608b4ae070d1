"""Where one context answers another's port: each class here implements a Protocol of the context that uses it with
the services of the context that knows (the composition root builds them; no context imports the other)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.accounts.guards import SmsSender
    from chalicelib.accounts.repository import AccountsRepository
    from chalicelib.bootstrap import Container
    from chalicelib.catalog.repository import CatalogRepository
    from chalicelib.membership.repository import MembershipRepository
    from chalicelib.orders.domain import Order
    from chalicelib.orders.service import Shop
    from chalicelib.profile.repository import ProfileRepository
    from chalicelib.recommend.segments import AudienceProfile
    from chalicelib.reviews.domain import ReviewableLine

RECEIVED_STATUSES = ("RECEIVED", "COMPLETED")


class CustomerFactsAcrossContexts:
    """accounts.staff.CustomerFacts: a customer's orders (the orders context) and membership."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def orders(self, user_id: str) -> tuple[int, int]:
        from chalicelib.orders import reports

        return reports.buyer_totals(self.container.shop, user_id)

    def membership(self, user_id: str) -> tuple[int | None, int]:
        from chalicelib.membership.domain import level_of
        from chalicelib.membership.service import level_cache

        repo = self.container.membership
        growth = repo.growth(user_id)
        return level_of(level_cache.get(repo)["items"], growth)[0]["level"], growth


class MemberPricesFromClub:
    """catalog.service.MemberPricing: the members club's levels and the viewer's growth, priced by the one rule of
    pricing.engine.member_unit_price."""

    def __init__(self, membership: MembershipRepository) -> None:
        self.membership = membership

    def __call__(
        self, viewer: str | None, skus: list[dict[str, Any]]
    ) -> dict[str, tuple[int | None, list[dict[str, Any]]]]:
        from chalicelib.membership.service import level_cache
        from chalicelib.pricing.checkout import member_rate
        from chalicelib.pricing.engine import member_unit_price
        from chalicelib.pricing.model import MemberRate

        levels = level_cache.get(self.membership)["items"]
        mine = member_rate(self.membership, self.membership.growth(viewer)) if viewer and skus else None
        prices: dict[str, tuple[int | None, list[dict[str, Any]]]] = {}
        for sku in skus:
            day = int(sku["price_fen"])
            table = []
            for level in levels:
                price = member_unit_price(sku, day, MemberRate(level["level"], level["discount_percent"]))
                table.append(
                    {"level": level["level"], "name": level["name"], "price_fen": day if price is None else price}
                )
            prices[sku["sku_id"]] = (member_unit_price(sku, day, mine), table)
        return prices


class AudienceFromAccounts:
    """recommend.segments.Audience: the shoppers' birthday, gender, occupation and interests from their accounts."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def profiles(self, user_ids: list[str]) -> dict[str, AudienceProfile]:
        from chalicelib.recommend.segments import AudienceProfile

        return {
            user.user_id: AudienceProfile(user.birthday, user.gender, user.occupation, tuple(user.interests))
            for user in self.container.accounts_directory.accounts(user_ids)
            if user.status == "ACTIVE"
        }


class AccountDataAcrossContexts:
    """accounts.deletion.AccountData: orders, the personal center, the cart, reservations and reviews, each through
    its own context's service."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def in_progress(self, user_id: str) -> bool:
        from chalicelib.orders import buyers

        return buyers.has_orders_in_progress(self.container.shop, user_id)

    def erase(self, user_id: str) -> None:
        from chalicelib.cart import service as cart
        from chalicelib.inventory import service as inventory
        from chalicelib.orders import buyers
        from chalicelib.profile import service as profile
        from chalicelib.reviews import service as reviews

        profile.erase_user(self.container.profile, user_id)
        cart.empty_cart(self.container.cart, user_id)
        inventory.forget_user(self.container.inventory, user_id)
        buyers.forget_buyer(self.container.shop, user_id)
        reviews.forget_reviewer(self.container.reviews, user_id)


class OrderLinesForReviews:
    """reviews.domain.ReceivedLines: a line of the user's order, and whether the order was received."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop

    def line(self, user_id: str, order_id: str, sku_id: str) -> ReviewableLine | None:
        from chalicelib.reviews.domain import ReviewableLine

        order = self.shop.orders.order(order_id)
        if order is None or order.user_id != user_id:
            return None
        found = next((line for line in order.lines if line.sku_id == sku_id), None)
        if found is None:
            return None
        return ReviewableLine(
            product_id=found.product_id,
            title=found.title,
            attributes=dict(found.attributes),
            received=order.status in RECEIVED_STATUSES,
        )


class ShopOrdersOfUser:
    """feedback.domain.OrdersOfUser: whether an order is the user's."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop

    def owns(self, user_id: str, order_id: str) -> bool:
        order = self.shop.orders.order(order_id)
        return order is not None and order.user_id == user_id


class SmsBuyerNotifier:
    """orders.outbox.BuyerNotifier: texts a buyer through the accounts' SMS sender (SNS; the local stage's
    /dev/outbox keeps a copy): the phone bound to the account, else the order's delivery address's."""

    def __init__(self, accounts: AccountsRepository, sms: SmsSender) -> None:
        self.accounts = accounts
        self.sms = sms

    def tell(self, order: Order, text: str) -> bool:
        user = self.accounts.get_user(order.user_id)
        phone = (user.phone if user is not None else None) or (order.address or {}).get("phone")
        if not phone:
            return False
        self.sms.send(str(phone), text)
        return True


class AccountsPhoneBook:
    """inventory.service.PhoneBook on the accounts: the phone a user bound, if any."""

    def __init__(self, accounts: AccountsRepository) -> None:
        self.accounts = accounts

    def phone_of(self, user_id: str) -> str | None:
        user = self.accounts.get_user(user_id)
        return user.phone if user is not None and user.phone else None


class ProfileFootprints:
    """catalog.service.Footprints: signed-in viewers' footprints in the personal center."""

    def __init__(self, profile: ProfileRepository) -> None:
        self.profile = profile

    def record(self, views: list[tuple[str, str, str]]) -> int:
        from chalicelib.profile import service

        return service.record_footprints(self.profile, views)


def categories_in(catalog: CatalogRepository, product_ids: list[str]) -> dict[str, str]:
    """analytics.service.CategoriesOf: the catalog's category of each product still there."""
    products = catalog.products_by_ids(product_ids)
    return {pid: str(p["category_id"]) for pid, p in products.items() if p.get("category_id")}


class ExchangeOrdersOfShop:
    """points.service.ExchangeOrders: goods exchanged for points become an order of the orders context."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def place(
        self, user_id: str, reward: dict[str, Any], quantity: int, address_id: str, exchange_id: str
    ) -> dict[str, Any]:
        from chalicelib.orders.points_exchange import place_exchange_order

        return place_exchange_order(self.container.shop, user_id, reward, quantity, address_id, exchange_id)

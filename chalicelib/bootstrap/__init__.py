"""The composition root: the one place that builds the settings, clients, repositories and services of a container,
and hands them to routes and handlers by name (chalicelib.deps).

Each attribute of `Container` is built on first use and kept for the container's life (a warm Lambda container, the
local server, a test module), so a request loads and builds only what its route uses: `import app` builds nothing,
and GET /cart builds the cart, catalog, profile, promotions and coupons it prices with, not orders or search. A route
names what it uses as a parameter of its view (`cart: CartRepository`), a handler as a parameter beside its event.

Tests build the same graph with fakes: `Container(settings, **fakes)` takes any attribute ready-made.

What connects two contexts (a port of one answered by another: orders' refunds by payments, reviews' received lines
by orders, account deletion across every context) is built here too, from chalicelib/bootstrap/bridges.py, so no
context imports another to wire itself.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from chalicelib.bootstrap.community import CommunityParts
from chalicelib.bootstrap.order_parts import OrderParts
from chalicelib.bootstrap.search import SearchParts
from chalicelib.config import Settings, get_settings, on_reset

if TYPE_CHECKING:
    from chalicelib.accounts.deletion import AccountData
    from chalicelib.accounts.directory import AccountsDirectory
    from chalicelib.accounts.guards import SmsSender
    from chalicelib.accounts.oauth.config import OAuthSettings
    from chalicelib.accounts.oauth.providers import ProviderDirectory
    from chalicelib.accounts.oauth.repository import OAuthStateRepository
    from chalicelib.accounts.repository import AccountsRepository
    from chalicelib.accounts.security_repository import SecurityRepository
    from chalicelib.accounts.staff import CustomerFacts
    from chalicelib.analytics.lake import Lake
    from chalicelib.analytics.repository import AnalyticsRepository
    from chalicelib.analytics.service import CategoriesOf
    from chalicelib.analytics.warehouse import Warehouse
    from chalicelib.audit.service import AuditTrail
    from chalicelib.auth import Principal
    from chalicelib.cart.repository import CartRepository
    from chalicelib.cart.sku_cache import SkuCache
    from chalicelib.catalog.repository import CatalogRepository
    from chalicelib.catalog.service import Footprints, PriceSource, ViewEvents
    from chalicelib.coupons.repository import CouponsRepository
    from chalicelib.flashsale.service import FlashSale
    from chalicelib.inventory.repository import InventoryRepository
    from chalicelib.inventory.service import AdminAlerts, PhoneBook, StockEvents, TextSender
    from chalicelib.logistics.repository import FreightRepository, ParcelRepository
    from chalicelib.orders.outbox import BuyerNotifier
    from chalicelib.orders.service import Shop
    from chalicelib.payments.channels import PaymentChannel
    from chalicelib.payments.service import Payments
    from chalicelib.points.repository import PointsRepository
    from chalicelib.points.service import ExchangeOrders
    from chalicelib.pricing.checkout import CouponSource
    from chalicelib.pricing.promotion import RunningPromotions
    from chalicelib.profile.repository import ProfileRepository
    from chalicelib.promotions.repository import PromotionsRepository
    from chalicelib.recommend.repository import CatalogFacts, RecommendationStore
    from chalicelib.recommend.segments import Audience
    from chalicelib.reviews.domain import ReceivedLines
    from chalicelib.reviews.repository import ReviewsRepository
    from chalicelib.search.service import Recommend
    from chalicelib.themes.repository import ThemeRepository


class Container(CommunityParts, SearchParts, OrderParts):
    """Everything routes and handlers are handed, built on first use (see the module docstring); the members club,
    review words, uploads and feedback parts are chalicelib/bootstrap/community.py's, search's are search.py's."""

    settings: Settings

    def __init__(self, settings: Settings, **ready: Any) -> None:
        self.settings = settings
        for name, value in ready.items():  # tests: fakes in place of what would be built
            if not hasattr(type(self), name):
                raise AttributeError(f"a container has no {name!r} to hand out")
            self.__dict__[name] = value

    # -- accounts ----------------------------------------------------------------------------------------------------

    @cached_property
    def accounts(self) -> AccountsRepository:
        from chalicelib.accounts.repository import DynamoAccountsRepository

        return DynamoAccountsRepository()

    @cached_property
    def security(self) -> SecurityRepository:
        from chalicelib.accounts.security_repository import DynamoSecurityRepository

        return DynamoSecurityRepository()

    @cached_property
    def sms(self) -> SmsSender:
        from chalicelib.accounts.sms_sender import sms_sender

        return sms_sender(self.security, self.settings.is_local)

    @cached_property
    def principal_for_token(self) -> Callable[[str], Principal | None]:
        from chalicelib.accounts import service

        return lambda token: service.principal_for_token(self.accounts, token)

    @cached_property
    def accounts_directory(self) -> AccountsDirectory:
        from chalicelib.accounts.directory import DynamoAccountsDirectory

        return DynamoAccountsDirectory()

    @cached_property
    def customer_facts(self) -> CustomerFacts:
        from chalicelib.bootstrap.bridges import CustomerFactsAcrossContexts

        return CustomerFactsAcrossContexts(self)

    @cached_property
    def audit_trail(self) -> AuditTrail:
        from chalicelib.audit.repository import DynamoAuditLog
        from chalicelib.audit.service import AuditTrail

        return AuditTrail(DynamoAuditLog())

    @cached_property
    def account_data(self) -> AccountData:
        from chalicelib.bootstrap.bridges import AccountDataAcrossContexts

        return AccountDataAcrossContexts(self)

    @cached_property
    def oauth_states(self) -> OAuthStateRepository:
        from chalicelib.accounts.oauth.repository import DynamoOAuthStateRepository

        return DynamoOAuthStateRepository()

    @property
    def oauth_settings(self) -> OAuthSettings:
        """Read per use: the local runtime and tests point the providers elsewhere while the app runs."""
        from chalicelib.accounts.oauth.config import OAuthSettings

        return OAuthSettings.from_env()

    @property
    def oauth_providers(self) -> ProviderDirectory:
        from chalicelib.accounts.oauth.providers import ProviderDirectory

        return ProviderDirectory(self.oauth_settings)

    # -- catalog, profile, themes ------------------------------------------------------------------------------------

    @cached_property
    def catalog(self) -> CatalogRepository:
        from chalicelib.catalog.repository import DynamoCatalogRepository

        return DynamoCatalogRepository()

    @cached_property
    def product_views(self) -> ViewEvents:
        from chalicelib.catalog.events import SqsViewEvents

        return SqsViewEvents(self.settings.product_views_queue_url)

    @cached_property
    def prices_today(self) -> PriceSource:
        from chalicelib.promotions import service

        return lambda sku_ids, *, list_prices: service.effective_prices(self.promotions, sku_ids, None, list_prices)

    @cached_property
    def footprints(self) -> Footprints:
        from chalicelib.bootstrap.bridges import ProfileFootprints

        return ProfileFootprints(self.profile)

    @cached_property
    def profile(self) -> ProfileRepository:
        from chalicelib.profile.dynamo_repository import DynamoProfileRepository

        return DynamoProfileRepository()

    @cached_property
    def freight(self) -> FreightRepository:
        from chalicelib.logistics.repository import DynamoFreightRepository

        return DynamoFreightRepository()

    @cached_property
    def parcels(self) -> ParcelRepository:
        from chalicelib.logistics.repository import DynamoParcelRepository

        return DynamoParcelRepository()

    @cached_property
    def themes(self) -> ThemeRepository:
        from chalicelib.themes.repository import DynamoThemeRepository

        return DynamoThemeRepository()

    # -- promotions, coupons, points, cart ---------------------------------------------------------------------------

    @cached_property
    def promotions(self) -> PromotionsRepository:
        from chalicelib.promotions.repository import DynamoPromotionsRepository

        return DynamoPromotionsRepository()

    @cached_property
    def running_promotions(self) -> RunningPromotions:
        from chalicelib.promotions import service

        return lambda now: service.running_promotions(self.promotions, now)

    @cached_property
    def coupons(self) -> CouponsRepository:
        from chalicelib.coupons.repository import DynamoCouponsRepository

        return DynamoCouponsRepository()

    @cached_property
    def coupon_source(self) -> CouponSource:
        from chalicelib.pricing.checkout import StoredCoupons

        return StoredCoupons(self.coupons)

    @cached_property
    def points(self) -> PointsRepository:
        from chalicelib.points.repository import DynamoPointsRepository

        return DynamoPointsRepository()

    @cached_property
    def exchange_orders(self) -> ExchangeOrders:
        from chalicelib.bootstrap.bridges import ExchangeOrdersOfShop

        return ExchangeOrdersOfShop(self)

    @cached_property
    def cart(self) -> CartRepository:
        from chalicelib.cart.repository import DynamoCartRepository

        return DynamoCartRepository()

    @cached_property
    def cart_skus(self) -> SkuCache:
        """What adds to the cart need of a SKU, kept CART_SKU_CACHE_SECONDS in this container (0: not kept)."""
        from chalicelib.cart.sku_cache import SkuCache

        return SkuCache(self.settings.cart_sku_cache_seconds)

    # -- inventory ---------------------------------------------------------------------------------------------------

    @cached_property
    def inventory(self) -> InventoryRepository:
        from chalicelib.inventory.repository import DynamoInventoryRepository

        return DynamoInventoryRepository()

    @cached_property
    def stock_events(self) -> StockEvents:
        from chalicelib.inventory.events import SqsStockEvents

        return SqsStockEvents(self.settings.stock_events_queue_url)

    @cached_property
    def admin_alerts(self) -> AdminAlerts:
        from chalicelib.inventory.events import SnsAdminAlerts

        return SnsAdminAlerts(self.settings.admin_alerts_topic_arn)

    @cached_property
    def texts(self) -> TextSender:
        return self.sms

    @cached_property
    def phones(self) -> PhoneBook:
        from chalicelib.bootstrap.bridges import AccountsPhoneBook

        return AccountsPhoneBook(self.accounts)

    # -- orders, payments, reviews -----------------------------------------------------------------------------------

    @cached_property
    def shop(self) -> Shop:
        from chalicelib.bootstrap.orders import build_shop

        return build_shop(self)

    @cached_property
    def flash_sale(self) -> FlashSale:
        from chalicelib.bootstrap.flashsale import build_flash_sale

        return build_flash_sale(self)

    @cached_property
    def buyer_notifier(self) -> BuyerNotifier:
        from chalicelib.bootstrap.bridges import SmsBuyerNotifier

        return SmsBuyerNotifier(self.accounts, self.sms)

    @property
    def payment_channels(self) -> Callable[[str], PaymentChannel]:
        """The channels as the environment configures them now (NotFound for an unknown or unconfigured one)."""
        from chalicelib.bootstrap.payments import configured_channel

        return configured_channel

    @cached_property
    def payments(self) -> Payments:
        from chalicelib.bootstrap.payments import build_payments

        return build_payments(self)

    @cached_property
    def reviews(self) -> ReviewsRepository:
        from chalicelib.reviews.repository import DynamoReviewsRepository

        return DynamoReviewsRepository()

    @cached_property
    def received_lines(self) -> ReceivedLines:
        from chalicelib.bootstrap.bridges import OrderLinesForReviews

        return OrderLinesForReviews(self.shop)

    # -- search, recommendations, analytics --------------------------------------------------------------------------

    @cached_property
    def recommend_for_search(self) -> Recommend:
        from chalicelib.recommend import service

        return lambda product_ids, category_id, limit, user_id: service.recommendations_for_search(
            self.recommendations, self.catalog, product_ids, category_id, limit, user_id, self.audience
        )

    @cached_property
    def audience(self) -> Audience:
        from chalicelib.bootstrap.bridges import AudienceFromAccounts

        return AudienceFromAccounts(self)

    @cached_property
    def recommendations(self) -> RecommendationStore:
        from chalicelib.recommend.repository import DynamoRecommendationStore

        return DynamoRecommendationStore()

    @cached_property
    def catalog_facts(self) -> CatalogFacts:
        from chalicelib.recommend.repository import DynamoCatalogFacts

        return DynamoCatalogFacts()

    @cached_property
    def analytics(self) -> AnalyticsRepository:
        from chalicelib.analytics.repository import DynamoAnalyticsRepository

        return DynamoAnalyticsRepository()

    @cached_property
    def lake(self) -> Lake:
        from chalicelib.analytics.lake import S3Lake

        return S3Lake(self.settings.analytics_bucket)

    @cached_property
    def known_categories(self) -> Callable[[list[str]], set[str]]:
        from chalicelib.catalog.service import category_tree

        return lambda category_ids: set(category_tree.get(self.catalog)) & set(category_ids)

    @cached_property
    def warehouse(self) -> Warehouse:
        from chalicelib.analytics.warehouse import AthenaWarehouse, DuckDBWarehouse

        if self.settings.analytics_warehouse == "duckdb":
            return DuckDBWarehouse(self.lake)
        return AthenaWarehouse(self.settings.athena_database, self.settings.athena_workgroup)

    @cached_property
    def categories_of(self) -> CategoriesOf:
        from chalicelib.bootstrap.bridges import categories_in

        return lambda product_ids: categories_in(self.catalog, product_ids)


@lru_cache(maxsize=1)
def container() -> Container:
    """This process's container, from the settings as they are now (forgotten with them: config.reset_caches)."""
    return Container(get_settings())


on_reset(container.cache_clear)

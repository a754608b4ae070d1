"""In-memory fakes of the repositories: the same interfaces, no AWS."""

from __future__ import annotations

import copy
import json
from typing import Any

from chalicelib.accounts.domain import RefreshRecord, User
from chalicelib.catalog.repository import ListingBy
from chalicelib.dynamo import PendingRead
from chalicelib.errors import ChangedMeanwhile, Conflict, InvalidState, NotFound


class FakeAccountsRepository:
    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.handles: dict[tuple[str, str], str] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.families: dict[str, dict[str, Any]] = {}
        self.closed: dict[str, dict[str, Any]] = {}

    def create_user(self, user: User, handles: list[tuple[str, str]], listed_as: str = "customer") -> None:
        for kind, value in handles:
            if (kind, value) in self.handles:
                raise Conflict(f"This {kind} is already registered", field=kind)
        self.users[user.user_id] = copy.deepcopy(user)
        for handle in handles:
            self.handles[handle] = user.user_id

    def find_user_id(self, kind: str, value: str) -> str | None:
        return self.handles.get((kind, value))

    def get_user(self, user_id: str) -> User | None:
        return copy.deepcopy(self.users.get(user_id))

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self.users[user_id].password_hash = password_hash

    def add_role(self, user_id: str, role: str) -> None:
        self.users[user_id].roles.add(role)

    def start_refresh_family(
        self, digest: str, user_id: str, family_id: str, epoch: int, created_at: str, expires_at: int
    ) -> None:
        self.families[family_id] = {"revoked": False, "epoch": epoch}
        self.refresh_tokens[digest] = {
            "user_id": user_id,
            "family_id": family_id,
            "expires_at": expires_at,
            "used": False,
        }

    def get_refresh(self, digest: str) -> RefreshRecord | None:
        token = self.refresh_tokens.get(digest)
        if token is None:
            return None
        family = self.families[token["family_id"]]
        return RefreshRecord(
            user_id=token["user_id"], family_id=token["family_id"], expires_at=token["expires_at"],
            used=token["used"], family_revoked=family["revoked"], family_epoch=family["epoch"],
        )  # fmt: skip

    def rotate_refresh_token(self, old_digest: str, new_digest: str, record: RefreshRecord, created_at: str) -> bool:
        old = self.refresh_tokens.get(old_digest)
        if old is None or old["used"] or self.families[record.family_id]["revoked"]:
            return False
        old["used"] = True
        self.refresh_tokens[new_digest] = {**old, "used": False}
        return True

    def revoke_family(self, family_id: str) -> None:
        if family_id in self.families:
            self.families[family_id]["revoked"] = True

    def update_profile(self, user_id: str, changes: dict[str, Any]) -> None:
        if user_id not in self.users:
            raise NotFound()
        for name, value in changes.items():
            setattr(self.users[user_id], name, value)

    def change_password(self, user: User, password_hash: str) -> None:
        stored = self.users[user.user_id]
        if stored.version != user.version:
            raise InvalidState()
        stored.password_hash = password_hash
        stored.refresh_epoch += 1
        stored.version += 1

    def bind_handle(self, user: User, kind: str, value: str, binding: dict[str, str] | None) -> None:
        if (kind, value) in self.handles:
            raise Conflict(f"This {kind} is bound to another account", field=kind)
        stored = self.users[user.user_id]
        if stored.version != user.version:
            raise InvalidState()
        self.handles[(kind, value)] = user.user_id
        if binding is None:
            stored.phone = value
        else:
            stored.bindings[kind] = dict(binding)
        stored.version += 1

    def unbind_handle(self, user: User, kind: str, value: str) -> None:
        stored = self.users[user.user_id]
        if stored.version != user.version or self.handles.get((kind, value)) != user.user_id:
            raise InvalidState()
        del self.handles[(kind, value)]
        if kind == "phone":
            stored.phone = None
        else:
            stored.bindings.pop(kind)
        stored.version += 1

    def close_account(self, user: User, at: str) -> None:
        stored = self.users.get(user.user_id)
        if stored is None or stored.version != user.version:
            raise InvalidState()
        for handle in user.handles():
            if self.handles.get(handle) == user.user_id:
                del self.handles[handle]
        self.closed[user.user_id] = {"status": "DELETED", "deleted_at": at, "epoch": stored.refresh_epoch + 1}
        del self.users[user.user_id]

    def account_status(self, user_id: str) -> str | None:
        if user_id in self.closed:
            return "DELETED"
        return self.users[user_id].status if user_id in self.users else None

    def access_of(self, user_id: str) -> tuple[str, frozenset[str]] | None:
        status = self.account_status(user_id)
        return (
            None if status is None else (status, frozenset(self.users[user_id].roles if user_id in self.users else ()))
        )


class FakeCatalogRepository:
    def __init__(self) -> None:
        self.category_items: dict[str, dict[str, Any]] = {}
        self.brand_items: dict[str, dict[str, Any]] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.skus: dict[str, dict[str, dict[str, Any]]] = {}
        self.views: dict[str, int] = {}
        self.listings: list[tuple[ListingBy, str | None]] = []

    def categories(self) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self.category_items.values()))

    def brands(self) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self.brand_items.values()))

    def save_category(self, category: dict[str, Any], create: bool) -> None:
        self._save(self.category_items, category["category_id"], category, create)

    def save_brand(self, brand: dict[str, Any], create: bool) -> None:
        self._save(self.brand_items, brand["brand_id"], brand, create)

    @staticmethod
    def _save(store: dict[str, Any], key: str, value: dict[str, Any], create: bool) -> None:
        if create and key in store:
            raise Conflict()
        if not create and key not in store:
            raise NotFound()
        store[key] = copy.deepcopy(value)

    def product_with_skus(self, product_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        if product_id not in self.products:
            return None
        return copy.deepcopy(self.products[product_id]), copy.deepcopy(list(self.skus[product_id].values()))

    def list_products(
        self, by: ListingBy, key: str | None, brand_id: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        self.listings.append((by, key))
        field = {"all": None, "category": "category_id", "root_category": "root_category_id", "brand": "brand_id"}[by]
        items = [
            p
            for p in sorted(self.products.values(), key=lambda p: (p["created_at"], p["product_id"]), reverse=True)
            if (field is None or p[field] == key) and (brand_id is None or p["brand_id"] == brand_id) and p["on_sale"]
        ]
        offset = int(start["offset"]) if start else 0
        chunk = items[offset : offset + limit]
        more = offset + limit < len(items)
        return copy.deepcopy(chunk), ({"offset": offset + limit} if more else None)

    def save_product(
        self,
        product: dict[str, Any],
        skus: list[dict[str, Any]],
        removed_sku_ids: list[str],
        create: bool,
        previous_template_id: str | None = None,
    ) -> None:
        exists = product["product_id"] in self.products
        if exists == create:
            raise Conflict()
        if exists and self.products[product["product_id"]]["version"] != product["version"] - 1:
            raise Conflict("The product changed meanwhile")
        current = self.skus.get(product["product_id"], {})
        updated = {}
        for sku in skus:
            stored = {k: v for k, v in sku.items() if k != "existing"} | {"product_id": product["product_id"]}
            if sku["existing"]:
                stored["stock"] = current[sku["sku_id"]]["stock"]
            updated[sku["sku_id"]] = stored
        self.products[product["product_id"]] = copy.deepcopy(product)
        self.skus[product["product_id"]] = updated

    def set_stock(self, sku_id: str, stock: int, updated_at: str) -> dict[str, Any] | None:
        for skus in self.skus.values():
            if sku_id in skus:
                skus[sku_id]["stock"] = stock
                return copy.deepcopy(skus[sku_id])
        return None

    def products_by_ids(self, product_ids: list[str]) -> dict[str, dict[str, Any]]:
        return {pid: copy.deepcopy(self.products[pid]) for pid in product_ids if pid in self.products}

    def sku_read(self, sku_id: str) -> PendingRead[dict[str, Any] | None]:
        return PendingRead(None, None, lambda _: self.skus_by_ids([sku_id]).get(sku_id))

    def skus_by_ids(self, sku_ids: list[str]) -> dict[str, dict[str, Any]]:
        found = {}
        for product_id, skus in self.skus.items():
            product = self.products[product_id]
            card = {
                "title": product["title"],
                "image_url": product["images"][0] if product["images"] else None,
                "category_id": product["category_id"],
                "brand_id": product["brand_id"],
                "on_sale": product["on_sale"],
            }
            found |= {sku_id: {**sku, **card} for sku_id, sku in skus.items() if sku_id in sku_ids}
        return copy.deepcopy(found)

    def has_products(self, category_id: str) -> bool:
        return any(category_id in (p["category_id"], p["root_category_id"]) for p in self.products.values())

    def import_products(self, products: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
        for product, skus in products:
            self.products[product["product_id"]] = copy.deepcopy(product)
            self.skus[product["product_id"]] = {s["sku_id"]: {**s, "product_id": product["product_id"]} for s in skus}

    def add_view_counts(self, counts: dict[str, int]) -> None:
        for product_id, count in counts.items():
            if product_id in self.products:
                self.products[product_id]["view_count"] += count


class RecordingViewEvents:
    def __init__(self) -> None:
        self.viewed: list[str] = []
        self.viewers: list[str | None] = []

    def product_viewed(self, product_id: str, user_id: str | None) -> None:
        self.viewed.append(product_id)
        self.viewers.append(user_id)


class FakeSecurityRepository:
    """Guards, codes and outbox in memory, with the same conditional semantics as the table."""

    def __init__(self) -> None:
        self.guards: dict[tuple[str, str], dict[str, int]] = {}
        self.codes: dict[tuple[str, str], dict[str, Any]] = {}
        self.sent: list[dict[str, Any]] = []

    def take_cooldown(self, what: str, subject: str, now: int, seconds: int) -> bool:
        guard = self.guards.get((what, subject))
        if guard and guard["until"] > now:
            return False
        self.guards[(what, subject)] = {"hits": 0, "until": now + seconds, "expires_at": now + seconds}
        return True

    def count_hit(self, what: str, subject: str, limit: int, expires_at: int) -> bool:
        guard = self.guards.setdefault((what, subject), {"hits": 0, "until": 0, "expires_at": expires_at})
        if guard["hits"] >= limit:
            return False
        guard["hits"] += 1
        return True

    def hits(self, what: str, subject: str, now: int) -> tuple[int, int]:
        guard = self.guards.get((what, subject))
        if not guard or guard["expires_at"] <= now:
            return 0, 0
        return guard["hits"], guard["until"]

    def bump(self, what: str, subject: str, now: int, window: int) -> int:
        guard = self.guards.get((what, subject))
        if not guard or guard["expires_at"] <= now:
            guard = self.guards[(what, subject)] = {"hits": 0, "until": 0, "expires_at": 0}
        guard["hits"] += 1
        guard["expires_at"] = now + window
        return guard["hits"]

    def hold_until(self, what: str, subject: str, until: int) -> None:
        self.guards[(what, subject)]["until"] = until

    def clear_guard(self, what: str, subject: str) -> None:
        self.guards.pop((what, subject), None)

    def put_code(self, purpose: str, phone: str, code_digest: str, expires_at: int) -> None:
        self.codes[(purpose, phone)] = {"digest": code_digest, "attempts": 0, "expires_at": expires_at}

    def get_code(self, purpose: str, phone: str) -> tuple[str, int, int] | None:
        code = self.codes.get((purpose, phone))
        return (code["digest"], code["attempts"], code["expires_at"]) if code else None

    def spend_attempt(self, purpose: str, phone: str, max_attempts: int) -> None:
        code = self.codes.get((purpose, phone))
        if code and code["attempts"] < max_attempts:
            code["attempts"] += 1

    def consume_code(self, purpose: str, phone: str, code_digest: str, max_attempts: int) -> bool:
        code = self.codes.get((purpose, phone))
        if code and code["digest"] == code_digest and code["attempts"] < max_attempts:
            del self.codes[(purpose, phone)]
            return True
        return False

    def record_outbox(self, phone: str, text: str, sent_at: str, expires_at: int) -> None:
        self.sent.append({"to": phone, "text": text, "sent_at": sent_at})

    def outbox(self, phone: str) -> list[dict[str, Any]]:
        return [m for m in reversed(self.sent) if m["to"] == phone]


class RecordingSmsSender:
    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        self.texts.append((phone, text))

    def send_code(self, phone: str, code: str) -> None:
        self.texts.append((phone, f"【Shop】您的验证码是{code}，5分钟内有效。"))

    def last_code(self, phone: str) -> str:
        import re

        return re.findall(r"\d{6}", [text for to, text in self.texts if to == phone][-1])[0]


class FakeReviewWords:
    """reviews.words_repository.ReviewWordsRepository in memory: a seeded list id and an edit counter."""

    def __init__(self, words: tuple[str, ...] | None = None) -> None:
        self.list_id: str | None = None
        self.edits = 0
        self.words: dict[str, str] = {}
        if words is not None:
            self.seed("wl_fake", list(words), "2026-11-24T08:00:00Z")

    def version(self) -> tuple[str, int] | None:
        return None if self.list_id is None else (self.list_id, self.edits)

    def seed(self, list_id: str, words: list[str], at: str) -> None:
        if self.list_id is None:
            self.list_id, self.words = list_id, dict.fromkeys(words, at)

    def all_words(self) -> list[str]:
        return list(self.words)

    def page(self, limit: int, start: dict[str, Any] | None) -> Any:
        rows = [{"word": word, "created_at": at} for word, at in self.words.items()][:limit]
        return rows, None

    def add(self, words: list[str], at: str, seen_version: int) -> list[str]:
        if seen_version != self.edits:
            raise ChangedMeanwhile()
        added = [word for word in words if word not in self.words]
        self.words.update(dict.fromkeys(added, at))
        self.edits += 1
        return added

    def remove(self, word: str, seen_version: int) -> bool:
        if word not in self.words:
            return False
        if seen_version != self.edits:
            raise ChangedMeanwhile()
        del self.words[word]
        self.edits += 1
        return True


class FakeOwnImages:
    """uploads.domain.OwnImages: the URLs listed per user are their own completed uploads, each uploaded for the
    purpose `purposes` gives it (else `review`)."""

    def __init__(self, own: dict[str, set[str]] | None = None, purposes: dict[str, str] | None = None) -> None:
        self.own = own or {}
        self.purposes = purposes or {}

    def check(self, user_id: str, urls: list[str], purposes: tuple[str, ...] | None = None) -> list[str]:
        from chalicelib.uploads.domain import NotAnImageOfYours

        if any(url not in self.own.get(user_id, set()) for url in urls):
            raise NotAnImageOfYours()
        if purposes is not None and any(self.purposes.get(url, "review") not in purposes for url in urls):
            raise NotAnImageOfYours("This image was uploaded for another purpose")
        return list(urls)


class FakeMembership:
    """membership.repository.MembershipRepository with the default level table and growth in memory."""

    def __init__(self) -> None:
        self.growths: dict[str, int] = {}
        self.counted: set[tuple[str, str]] = set()

    def level_table(self) -> Any:
        return None

    def save_level_table(self, levels: list[dict[str, Any]], rules: dict[str, int], at: str) -> None:
        raise NotImplementedError

    def growth(self, user_id: str) -> int:
        return self.growths.get(user_id, 0)

    def growth_entries(self, user_id: str, limit: int, start: dict[str, Any] | None) -> Any:
        return [], None

    def add_growth(self, user_id: str, delta: int, reason: str, ref: str, at: str, seen: int) -> bool:
        if (reason, ref) in self.counted:
            return False
        self.counted.add((reason, ref))
        self.growths[user_id] = seen + delta
        return True

    def last_checkin(self, user_id: str) -> Any:
        return None

    def check_in(self, user_id: str, day: str, streak: int, points: int, growth: int, seen: int, at: str) -> None:
        raise NotImplementedError


class FakeLake:
    """The analytics lake in memory: JSON-lines objects and raw byte objects, with counted reads."""

    def __init__(self) -> None:
        self.objects: dict[str, list[dict[str, Any]]] = {}
        self.blobs: dict[str, bytes] = {}
        self.line_reads = 0

    def put(self, key: str, lines: list[dict[str, Any]]) -> None:
        self.objects[key] = copy.deepcopy(lines)

    def keys(self, prefix: str) -> list[str]:
        return sorted(key for key in [*self.objects, *self.blobs] if key.startswith(prefix))

    def size(self, prefix: str) -> int:
        lines = sum(len(json.dumps(line)) + 1 for key in self.keys(prefix) for line in self.objects.get(key, []))
        return lines + sum(len(body) for key, body in self.blobs.items() if key.startswith(prefix))

    def lines(self, key: str) -> list[dict[str, Any]]:
        self.line_reads += 1
        return copy.deepcopy(self.objects[key])

    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        self.blobs[key] = body

    def get_bytes(self, key: str) -> bytes | None:
        return self.blobs.get(key)

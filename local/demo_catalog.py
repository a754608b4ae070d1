"""The deterministic demo catalog (category tree, brands, products) that the local stack seeds."""

from __future__ import annotations

import hashlib
import itertools
import random
import tomllib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

# The raw listings live in local/demo_data/<root>.toml, one file per root category. Prices there are in
# yuan; a spec written as a table ({"12GB+256GB" = 0, "12GB+512GB" = 500}) carries each value's price delta.
DATA_DIR = Path(__file__).resolve().parent / "demo_data"
# The local stack draws these pictures itself (local/static_sites.py): the demo names no outside host.
IMAGE_HOST = "/demo-media"
# The demo's "today": every created_at falls within the CREATED_WINDOW_DAYS before it.
CATALOG_DATE = datetime(2026, 11, 20, tzinfo=UTC)
CREATED_WINDOW_DAYS = 90
MAX_SKUS = 6
MAX_STOCK = 500
MAX_STOCK_PRICEY = 200  # fewer units of anything over PRICEY_YUAN on hand
PRICEY_YUAN = 3000
SOLD_OUT_SHARE = 0.04
LOW_STOCK_SHARE = 0.05

# (root id, root name, ((leaf id, leaf name), ...)); the order is the sort order.
_CATEGORY_TREE: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "c_digital",
        "手机数码",
        (
            ("c_phone", "手机"),
            ("c_tablet", "平板电脑"),
            ("c_earphone", "耳机"),
            ("c_smartwatch", "智能手表"),
            ("c_camera", "数码相机"),
        ),
    ),
    (
        "c_computer",
        "电脑办公",
        (
            ("c_laptop", "笔记本电脑"),
            ("c_monitor", "显示器"),
            ("c_keyboard_mouse", "键盘鼠标"),
            ("c_printer", "打印机"),
        ),
    ),
    (
        "c_appliance",
        "家用电器",
        (
            ("c_tv", "平板电视"),
            ("c_fridge", "冰箱"),
            ("c_washer", "洗衣机"),
            ("c_aircon", "空调"),
        ),
    ),
    (
        "c_small_appliance",
        "生活电器",
        (
            ("c_kitchen_appliance", "厨房小电"),
            ("c_cleaning", "清洁电器"),
            ("c_personal_care", "个护电器"),
        ),
    ),
    (
        "c_apparel",
        "服饰内衣",
        (
            ("c_mens_wear", "男装"),
            ("c_womens_wear", "女装"),
            ("c_underwear", "内衣"),
            ("c_socks", "袜子"),
        ),
    ),
    (
        "c_shoes_bags",
        "鞋靴箱包",
        (
            ("c_casual_shoes", "休闲鞋"),
            ("c_boots", "靴子"),
            ("c_luggage", "拉杆箱"),
            ("c_handbag", "女包"),
        ),
    ),
    (
        "c_beauty",
        "美妆个护",
        (
            ("c_skincare", "面部护肤"),
            ("c_makeup", "彩妆"),
            ("c_fragrance", "香水"),
            ("c_haircare", "洗发护发"),
        ),
    ),
    (
        "c_food",
        "食品生鲜",
        (
            ("c_snacks", "休闲零食"),
            ("c_dairy", "牛奶乳品"),
            ("c_fresh_fruit", "新鲜水果"),
            ("c_meat", "肉禽蛋品"),
            ("c_drinks", "饮料冲调"),
        ),
    ),
    (
        "c_baby_toys",
        "母婴玩具",
        (
            ("c_formula", "奶粉"),
            ("c_diapers", "尿裤湿巾"),
            ("c_toys", "玩具"),
            ("c_stroller", "童车童床"),
        ),
    ),
    (
        "c_sports",
        "运动户外",
        (
            ("c_sports_shoes", "运动鞋"),
            ("c_sportswear", "运动服饰"),
            ("c_outdoor", "户外装备"),
            ("c_fitness", "健身器材"),
        ),
    ),
    (
        "c_books",
        "图书文娱",
        (
            ("c_literature", "文学小说"),
            ("c_children_books", "童书"),
            ("c_tech_books", "计算机与互联网"),
            ("c_instruments", "乐器"),
        ),
    ),
    (
        "c_home",
        "家居厨具",
        (
            ("c_bedding", "床上用品"),
            ("c_cookware", "锅具刀具"),
            ("c_furniture", "家具"),
        ),
    ),
)

# (brand id, name, root categories the brand trades in); the order is the listing order.
_BRANDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("b_huawei", "华为", ("c_digital", "c_computer", "c_appliance")),
    ("b_xiaomi", "小米", ("c_digital", "c_computer", "c_appliance", "c_small_appliance", "c_shoes_bags")),
    ("b_apple", "苹果", ("c_digital", "c_computer")),
    ("b_oppo", "OPPO", ("c_digital",)),
    ("b_vivo", "vivo", ("c_digital",)),
    ("b_honor", "荣耀", ("c_digital",)),
    ("b_oneplus", "一加", ("c_digital",)),
    ("b_samsung", "三星", ("c_digital", "c_computer")),
    ("b_lenovo", "联想", ("c_digital", "c_computer")),
    ("b_sony", "索尼", ("c_digital", "c_appliance")),
    ("b_bose", "Bose", ("c_digital",)),
    ("b_garmin", "佳明", ("c_digital",)),
    ("b_canon", "佳能", ("c_digital", "c_computer")),
    ("b_fujifilm", "富士", ("c_digital",)),
    ("b_dji", "大疆", ("c_digital",)),
    ("b_insta360", "影石", ("c_digital",)),
    ("b_dell", "戴尔", ("c_computer",)),
    ("b_aoc", "AOC", ("c_computer",)),
    ("b_lg", "LG", ("c_computer",)),
    ("b_logitech", "罗技", ("c_computer",)),
    ("b_razer", "雷蛇", ("c_computer",)),
    ("b_cherry", "樱桃", ("c_computer",)),
    ("b_hp", "惠普", ("c_computer",)),
    ("b_epson", "爱普生", ("c_computer",)),
    ("b_brother", "兄弟", ("c_computer",)),
    ("b_hisense", "海信", ("c_appliance",)),
    ("b_tcl", "TCL", ("c_appliance",)),
    ("b_haier", "海尔", ("c_appliance",)),
    ("b_midea", "美的", ("c_appliance", "c_small_appliance")),
    ("b_gree", "格力", ("c_appliance",)),
    ("b_siemens", "西门子", ("c_appliance",)),
    ("b_ronshen", "容声", ("c_appliance",)),
    ("b_littleswan", "小天鹅", ("c_appliance",)),
    ("b_panasonic", "松下", ("c_appliance", "c_small_appliance")),
    ("b_joyoung", "九阳", ("c_small_appliance",)),
    ("b_supor", "苏泊尔", ("c_small_appliance", "c_home")),
    ("b_bear", "小熊", ("c_small_appliance",)),
    ("b_dyson", "戴森", ("c_small_appliance",)),
    ("b_ecovacs", "科沃斯", ("c_small_appliance",)),
    ("b_roborock", "石头", ("c_small_appliance",)),
    ("b_tineco", "添可", ("c_small_appliance",)),
    ("b_philips", "飞利浦", ("c_small_appliance",)),
    ("b_braun", "博朗", ("c_small_appliance",)),
    ("b_oralb", "欧乐B", ("c_small_appliance",)),
    ("b_uniqlo", "优衣库", ("c_apparel",)),
    ("b_hla", "海澜之家", ("c_apparel",)),
    ("b_bosideng", "波司登", ("c_apparel",)),
    ("b_semir", "森马", ("c_apparel",)),
    ("b_jackjones", "杰克琼斯", ("c_apparel",)),
    ("b_peacebird", "太平鸟", ("c_apparel",)),
    ("b_ur", "UR", ("c_apparel",)),
    ("b_bananain", "蕉内", ("c_apparel",)),
    ("b_ubras", "Ubras", ("c_apparel",)),
    ("b_nanjiren", "南极人", ("c_apparel",)),
    ("b_langsha", "浪莎", ("c_apparel",)),
    ("b_converse", "匡威", ("c_shoes_bags",)),
    ("b_skechers", "斯凯奇", ("c_shoes_bags",)),
    ("b_warrior", "回力", ("c_shoes_bags",)),
    ("b_vans", "VANS", ("c_shoes_bags",)),
    ("b_drmartens", "马汀博士", ("c_shoes_bags",)),
    ("b_ugg", "UGG", ("c_shoes_bags",)),
    ("b_belle", "百丽", ("c_shoes_bags",)),
    ("b_samsonite", "新秀丽", ("c_shoes_bags",)),
    ("b_diplomat", "外交官", ("c_shoes_bags",)),
    ("b_american_tourister", "美旅", ("c_shoes_bags",)),
    ("b_coach", "蔻驰", ("c_shoes_bags",)),
    ("b_michael_kors", "迈克高仕", ("c_shoes_bags",)),
    ("b_longchamp", "珑骧", ("c_shoes_bags",)),
    ("b_charles_keith", "CHARLES & KEITH", ("c_shoes_bags",)),
    ("b_estee_lauder", "雅诗兰黛", ("c_beauty",)),
    ("b_lancome", "兰蔻", ("c_beauty",)),
    ("b_loreal", "欧莱雅", ("c_beauty",)),
    ("b_skii", "SK-II", ("c_beauty",)),
    ("b_shiseido", "资生堂", ("c_beauty",)),
    ("b_proya", "珀莱雅", ("c_beauty",)),
    ("b_ysl", "圣罗兰", ("c_beauty",)),
    ("b_dior", "迪奥", ("c_beauty",)),
    ("b_florasis", "花西子", ("c_beauty",)),
    ("b_perfect_diary", "完美日记", ("c_beauty",)),
    ("b_chanel", "香奈儿", ("c_beauty",)),
    ("b_jo_malone", "祖玛珑", ("c_beauty",)),
    ("b_head_shoulders", "海飞丝", ("c_beauty",)),
    ("b_pantene", "潘婷", ("c_beauty",)),
    ("b_seeyoung", "滋源", ("c_beauty",)),
    ("b_kerastase", "卡诗", ("c_beauty",)),
    ("b_three_squirrels", "三只松鼠", ("c_food",)),
    ("b_bestore", "良品铺子", ("c_food",)),
    ("b_baicaowei", "百草味", ("c_food",)),
    ("b_lays", "乐事", ("c_food",)),
    ("b_oreo", "奥利奥", ("c_food",)),
    ("b_yili", "伊利", ("c_food",)),
    ("b_mengniu", "蒙牛", ("c_food",)),
    ("b_bright", "光明", ("c_food",)),
    ("b_zespri", "佳沛", ("c_food",)),
    ("b_dole", "都乐", ("c_food",)),
    ("b_chucheng", "褚橙", ("c_food",)),
    ("b_pagoda", "百果园", ("c_food",)),
    ("b_sunkist", "新奇士", ("c_food",)),
    ("b_hondo", "恒都", ("c_food",)),
    ("b_cp", "正大", ("c_food",)),
    ("b_sunner", "圣农", ("c_food",)),
    ("b_dashidi", "大希地", ("c_food",)),
    ("b_nongfu_spring", "农夫山泉", ("c_food",)),
    ("b_coca_cola", "可口可乐", ("c_food",)),
    ("b_genki_forest", "元气森林", ("c_food",)),
    ("b_nestle", "雀巢", ("c_food", "c_baby_toys")),
    ("b_feihe", "飞鹤", ("c_baby_toys",)),
    ("b_aptamil", "爱他美", ("c_baby_toys",)),
    ("b_mead_johnson", "美赞臣", ("c_baby_toys",)),
    ("b_wyeth", "惠氏", ("c_baby_toys",)),
    ("b_a2", "a2", ("c_baby_toys",)),
    ("b_pampers", "帮宝适", ("c_baby_toys",)),
    ("b_merries", "妙而舒", ("c_baby_toys",)),
    ("b_huggies", "好奇", ("c_baby_toys",)),
    ("b_babycare", "babycare", ("c_baby_toys",)),
    ("b_lego", "乐高", ("c_baby_toys",)),
    ("b_popmart", "泡泡玛特", ("c_baby_toys",)),
    ("b_auldey", "奥迪双钻", ("c_baby_toys",)),
    ("b_hape", "Hape", ("c_baby_toys",)),
    ("b_goodbaby", "好孩子", ("c_baby_toys",)),
    ("b_cybex", "赛百斯", ("c_baby_toys",)),
    ("b_nike", "耐克", ("c_sports", "c_shoes_bags")),
    ("b_adidas", "阿迪达斯", ("c_sports", "c_shoes_bags")),
    ("b_lining", "李宁", ("c_sports",)),
    ("b_anta", "安踏", ("c_sports",)),
    ("b_xtep", "特步", ("c_sports",)),
    ("b_asics", "亚瑟士", ("c_sports",)),
    ("b_lululemon", "lululemon", ("c_sports",)),
    ("b_tnf", "北面", ("c_sports",)),
    ("b_camel", "骆驼", ("c_sports", "c_shoes_bags")),
    ("b_toread", "探路者", ("c_sports",)),
    ("b_mobigarden", "牧高笛", ("c_sports",)),
    ("b_decathlon", "迪卡侬", ("c_sports",)),
    ("b_keep", "Keep", ("c_sports",)),
    ("b_shuhua", "舒华", ("c_sports",)),
    ("b_cqph", "重庆出版社", ("c_books",)),
    ("b_zuojia", "作家出版社", ("c_books",)),
    ("b_nanhai", "南海出版公司", ("c_books",)),
    ("b_rwpress", "人民文学出版社", ("c_books",)),
    ("b_mingtian", "明天出版社", ("c_books",)),
    ("b_21cnpress", "二十一世纪出版社", ("c_books",)),
    ("b_jieli", "接力出版社", ("c_books",)),
    ("b_ptpress", "人民邮电出版社", ("c_books",)),
    ("b_cmpbook", "机械工业出版社", ("c_books",)),
    ("b_cepp", "中国电力出版社", ("c_books",)),
    ("b_yamaha", "雅马哈", ("c_books",)),
    ("b_casio", "卡西欧", ("c_books",)),
    ("b_roland", "罗兰", ("c_books",)),
    ("b_luolai", "罗莱家纺", ("c_home",)),
    ("b_mercury", "水星家纺", ("c_home",)),
    ("b_fuanna", "富安娜", ("c_home",)),
    ("b_muji", "无印良品", ("c_home",)),
    ("b_zwilling", "双立人", ("c_home",)),
    ("b_asd", "爱仕达", ("c_home",)),
    ("b_locknlock", "乐扣乐扣", ("c_home",)),
    ("b_kuka", "顾家家居", ("c_home",)),
    ("b_linsy", "林氏家居", ("c_home",)),
    ("b_ikea", "宜家", ("c_home",)),
    ("b_sihoo", "西昊", ("c_home",)),
)

# Per root category: the low-stock threshold, the after-sales promises and a closing line of the description.
_ROOT_TERMS: dict[str, tuple[int, tuple[str, ...], str]] = {
    "c_digital": (10, ("七天无理由退货", "正品保障", "全国联保", "价格保护"), "官方正品行货，支持全国联保。"),
    "c_computer": (10, ("七天无理由退货", "正品保障", "全国联保"), "官方正品行货，享受全国联保服务。"),
    "c_appliance": (
        5,
        ("七天无理由退货", "正品保障", "全国联保", "送货入户", "以旧换新"),
        "支持送货入户，可预约专业师傅上门。",
    ),
    "c_small_appliance": (10, ("七天无理由退货", "正品保障", "只换不修"), "正品保障，一年内质量问题只换不修。"),
    "c_apparel": (10, ("七天无理由退货", "运费险", "正品保障"), "建议参考详情页尺码表选购。"),
    "c_shoes_bags": (10, ("七天无理由退货", "运费险", "正品保障"), "品牌正品，支持专柜验货。"),
    "c_beauty": (10, ("正品保障", "假一赔十", "七天无理由退货（未拆封）"), "品牌授权正品，支持扫码验真。"),
    "c_food": (
        20,
        ("正品保障", "七天无理由退货（未拆封）", "破损包赔"),
        "请按包装标示条件储存，开封后尽快食用。",
    ),
    "c_baby_toys": (10, ("七天无理由退货", "正品保障", "运费险"), "正品保障，宝宝用品安心选购。"),
    "c_sports": (10, ("七天无理由退货", "运费险", "正品保障"), "品牌正品，运动装备放心选。"),
    "c_books": (10, ("七天无理由退货", "正版保障"), "正版图书，包装严密，品相完好。"),
    "c_home": (10, ("七天无理由退货", "运费险", "正品保障"), "品牌正品，家居好物放心选。"),
}

# Leaf categories whose after-sales promises differ from their root's (fresh food has no 7-day return).
_LEAF_AFTER_SALES: dict[str, tuple[str, ...]] = {
    "c_aircon": ("七天无理由退货", "正品保障", "全国联保", "送货入户", "免费安装"),
    "c_underwear": ("正品保障", "七天无理由退货（未拆封）"),
    "c_socks": ("正品保障", "七天无理由退货（未拆封）"),
    "c_handbag": ("七天无理由退货", "正品保障", "正品鉴别"),
    "c_fresh_fruit": ("坏果包赔", "冷链配送", "产地直发"),
    "c_meat": ("坏单包赔", "冷链配送", "正品保障"),
    "c_formula": ("正品保障", "假一赔十", "七天无理由退货（未拆封）"),
    "c_diapers": ("正品保障", "七天无理由退货（未拆封）"),
    "c_stroller": ("七天无理由退货", "正品保障", "一年质保"),
    "c_fitness": ("七天无理由退货", "正品保障", "送货入户", "一年质保"),
    "c_instruments": ("七天无理由退货", "正品保障", "全国联保"),
    "c_furniture": ("七天无理由退货", "正品保障", "送货入户", "免费安装"),
}

_LEAF_CLOSING: dict[str, str] = {
    "c_fresh_fruit": "产地直发，全程冷链配送，坏果包赔。",
    "c_meat": "全程冷链配送，收货后请冷冻保存。",
    "c_instruments": "正品行货，支持全国联保。",
}


def categories() -> list[dict[str, Any]]:
    """The two-level category tree: each root followed by its leaves, sort_order counting from 1 per parent."""
    rows: list[dict[str, Any]] = []
    for root_order, (root_id, root_name, leaves) in enumerate(_CATEGORY_TREE, start=1):
        rows.append({"category_id": root_id, "name": root_name, "parent_id": None, "sort_order": root_order})
        rows.extend(
            {"category_id": leaf_id, "name": leaf_name, "parent_id": root_id, "sort_order": leaf_order}
            for leaf_order, (leaf_id, leaf_name) in enumerate(leaves, start=1)
        )
    return rows


def brands() -> list[dict[str, Any]]:
    """The real-world brands the demo products are sold under."""
    return [
        {"brand_id": brand_id, "name": name, "logo_url": f"{IMAGE_HOST}/brands/{brand_id}.svg"}
        for brand_id, name, _roots in _BRANDS
    ]


def products() -> list[dict[str, Any]]:
    """Every demo product with its specs and SKUs, in category order; a fresh copy on every call."""
    brand_roots = {brand_id: roots for brand_id, _name, roots in _BRANDS}
    return [_build_product(root_id, leaf_id, listing, brand_roots) for root_id, leaf_id, listing in _raw_listings()]


@lru_cache(maxsize=1)
def _raw_listings() -> tuple[tuple[str, str, dict[str, Any]], ...]:
    """(root id, leaf id, raw listing) for every listing in the data files, in category-tree order."""
    rows: list[tuple[str, str, dict[str, Any]]] = []
    for root_id, _name, leaves in _CATEGORY_TREE:
        path = DATA_DIR / f"{root_id.removeprefix('c_')}.toml"
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        leaf_ids = [leaf_id for leaf_id, _leaf_name in leaves]
        unknown = set(data) - set(leaf_ids)
        if unknown:
            raise ValueError(f"{path.name}: {sorted(unknown)} are not leaves of {root_id}")
        rows.extend((root_id, leaf_id, listing) for leaf_id in leaf_ids for listing in data.get(leaf_id, ()))
    return tuple(rows)


def _build_product(
    root_id: str, leaf_id: str, listing: dict[str, Any], brand_roots: dict[str, tuple[str, ...]]
) -> dict[str, Any]:
    slug, brand_id, title = listing["slug"], listing["brand"], listing["title"]
    if root_id not in brand_roots.get(brand_id, ()):
        raise ValueError(f"{slug}: brand {brand_id} does not trade in {root_id}")
    digest = hashlib.sha1(slug.encode("utf-8"), usedforsecurity=False).digest()
    product_id = f"p_{digest.hex()[:12]}"
    rng = random.Random(int.from_bytes(digest[8:16], "big"))
    threshold, root_after_sales, root_closing = _ROOT_TERMS[root_id]

    tables = _spec_tables(slug, listing["specs"])
    combos = _pick_combos(tables, title, rng)
    base = Decimal(str(listing["price"]))
    skus = []
    for number, combo in enumerate(combos, start=1):
        price = base + sum((deltas[value] for (_name, deltas), value in zip(tables, combo, strict=True)), Decimal(0))
        price_fen = price * 100
        if price_fen <= 0 or price_fen != price_fen.to_integral_value():
            raise ValueError(f"{slug}: {combo} costs {price} yuan")
        cap = MAX_STOCK_PRICEY if price > PRICEY_YUAN else MAX_STOCK
        skus.append(
            {
                "sku_id": f"{product_id}-{number:02d}",
                "attributes": {name: value for (name, _deltas), value in zip(tables, combo, strict=True)},
                "price_fen": int(price_fen),
                "stock": _stock(rng, threshold, cap),
            }
        )
    # A value no chosen SKU offers is dropped, so the specs list exactly what can be bought.
    specs = [
        {"name": name, "values": [value for value in deltas if any(combo[i] == value for combo in combos)]}
        for i, (name, deltas) in enumerate(tables)
    ]
    return {
        "product_id": product_id,
        "title": title,
        "subtitle": listing["subtitle"],
        "description": listing["description"] + _LEAF_CLOSING.get(leaf_id, root_closing),
        "category_id": leaf_id,
        "brand_id": brand_id,
        "images": [f"{IMAGE_HOST}/{product_id}/{n}.svg" for n in range(1, 2 + digest[0] % 3 + 1)],
        "specs": specs,
        "skus": skus,
        "after_sales": list(_LEAF_AFTER_SALES.get(leaf_id, root_after_sales)),
        "created_at": _created_at(digest),
        "low_stock_threshold": threshold,
    }


def _spec_tables(slug: str, raw_specs: dict[str, Any]) -> list[tuple[str, dict[str, Decimal]]]:
    """Each spec as (name, value -> price delta in yuan); a plain list of values adds nothing to the price."""
    tables: list[tuple[str, dict[str, Decimal]]] = []
    for name, values in raw_specs.items():
        if isinstance(values, dict):
            deltas = {value: Decimal(str(delta)) for value, delta in values.items()}
        else:
            if len(set(values)) != len(values):
                raise ValueError(f"{slug}: {name} repeats a value")
            deltas = dict.fromkeys(values, Decimal(0))
        if not deltas:
            raise ValueError(f"{slug}: {name} has no values")
        tables.append((name, deltas))
    if not tables:
        raise ValueError(f"{slug}: no specs")
    return tables


def _pick_combos(tables: list[tuple[str, dict[str, Decimal]]], title: str, rng: random.Random) -> list[tuple[str, ...]]:
    """The SKUs' value combinations: the whole cartesian product when small, else MAX_SKUS-2..MAX_SKUS of it.

    A cut-down set always keeps the variant the title names and tries to offer every value at least once.
    """
    combos = list(itertools.product(*(list(deltas) for _name, deltas in tables)))
    if len(combos) <= MAX_SKUS:
        return combos
    words = set(title.split())

    def title_match(index: int) -> tuple[int, int]:
        combo = combos[index]
        return sum(value in words for value in combo), sum(value in title for value in combo)

    anchor = max(range(len(combos)), key=lambda index: (title_match(index), -index))
    target = rng.randint(MAX_SKUS - 2, MAX_SKUS)
    others = [index for index in range(len(combos)) if index != anchor]
    rng.shuffle(others)
    chosen = [anchor]
    offered = [{value} for value in combos[anchor]]
    for index in others:
        if len(chosen) == target:
            break
        if any(value not in seen for value, seen in zip(combos[index], offered, strict=True)):
            chosen.append(index)
            for value, seen in zip(combos[index], offered, strict=True):
                seen.add(value)
    for index in others:
        if len(chosen) == target:
            break
        if index not in chosen:
            chosen.append(index)
    return [combos[index] for index in sorted(chosen)]


def _stock(rng: random.Random, threshold: int, cap: int) -> int:
    """Mostly comfortable stock, with a few SKUs sold out and a few under the low-stock threshold."""
    roll = rng.random()
    if roll < SOLD_OUT_SHARE:
        return 0
    if roll < SOLD_OUT_SHARE + LOW_STOCK_SHARE:
        return rng.randint(1, threshold - 1)
    return rng.randint(threshold, cap)


def _created_at(digest: bytes) -> str:
    """A listing time between 08:00 and 22:59 on one of the CREATED_WINDOW_DAYS days before CATALOG_DATE."""
    spread = int.from_bytes(digest[16:20], "big")
    days_back = spread % CREATED_WINDOW_DAYS + 1
    hour = 8 + (spread // CREATED_WINDOW_DAYS) % 15
    minute = (spread // (CREATED_WINDOW_DAYS * 15)) % 60
    created = CATALOG_DATE - timedelta(days=days_back) + timedelta(hours=hour, minutes=minute)
    return created.strftime("%Y-%m-%dT%H:%M:%SZ")

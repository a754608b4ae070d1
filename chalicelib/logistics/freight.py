"""Freight templates (运费模板) and what they charge (pure, no I/O): a fee by weight for the address's province (its
region's fees, else the default ones), nothing once the goods reach the template's free_over_fen, and no delivery at
all to an excluded province."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import Conflict


class Undeliverable(Conflict):
    """The address's province is excluded by the freight template of one of the goods."""

    code, default_message = "UNDELIVERABLE", "Some goods cannot be delivered to this address"


@dataclass(frozen=True)
class FeeRule:
    """first_fee_fen up to first_weight_g, then extra_fee_fen per started extra_weight_g beyond."""

    first_weight_g: int
    first_fee_fen: int
    extra_weight_g: int
    extra_fee_fen: int

    def fee(self, weight_g: int) -> int:
        beyond = max(weight_g - self.first_weight_g, 0)
        started = -(-beyond // self.extra_weight_g) if self.extra_weight_g > 0 else 0
        return self.first_fee_fen + started * self.extra_fee_fen

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> FeeRule:
        return cls(
            *(int(fields[name]) for name in ("first_weight_g", "first_fee_fen", "extra_weight_g", "extra_fee_fen"))
        )


@dataclass(frozen=True)
class FreightTemplate:
    template_id: str
    name: str
    default: FeeRule
    regions: tuple[tuple[frozenset[str], FeeRule], ...] = ()
    free_over_fen: int | None = None
    excluded_provinces: frozenset[str] = frozenset()

    @classmethod
    def of(cls, template: Mapping[str, Any]) -> FreightTemplate:
        """From the stored template (the shape of its admin body, with template_id)."""
        return cls(
            template_id=template["template_id"],
            name=template["name"],
            default=FeeRule.of(template["default"]),
            regions=tuple(
                (frozenset(region["provinces"]), FeeRule.of(region)) for region in template.get("regions") or ()
            ),
            free_over_fen=template.get("free_over_fen"),
            excluded_provinces=frozenset(template.get("excluded_provinces") or ()),
        )

    def rule_for(self, province: str) -> FeeRule:
        """The fees of the province's region, else the default ones."""
        return next((rule for provinces, rule in self.regions if province in provinces), self.default)

    def fee(self, province: str, weight_g: int, goods_fen: int) -> int:
        """What lines of this template weighing weight_g, worth goods_fen after discounts, cost to ship to the
        province; Undeliverable when the template excludes it."""
        if province in self.excluded_provinces:
            raise Undeliverable(
                f"「{self.name}」 does not deliver to {province}: choose another address or remove those goods",
                province=province,
                template_id=self.template_id,
            )
        if self.free_over_fen is not None and goods_fen >= self.free_over_fen:
            return 0
        return self.rule_for(province).fee(weight_g)


@dataclass(frozen=True)
class FreightLine:
    """One line as freight sees it: its template (None: the shop's flat rule), its weight and its goods after
    discounts."""

    template_id: str | None
    weight_g: int
    goods_fen: int


def template_fees(province: str, lines: Sequence[FreightLine], templates: Mapping[str, FreightTemplate]) -> int:
    """The shipping of the lines that name a template (found in `templates`), per template: their total weight and
    goods priced by it for the province. Lines of a template that is gone are left out (the caller prices them with
    the flat rule)."""
    weights: dict[str, int] = {}
    goods: dict[str, int] = {}
    for line in lines:
        if line.template_id is not None and line.template_id in templates:
            weights[line.template_id] = weights.get(line.template_id, 0) + line.weight_g
            goods[line.template_id] = goods.get(line.template_id, 0) + line.goods_fen
    return sum(templates[tid].fee(province, weights[tid], goods[tid]) for tid in sorted(weights))

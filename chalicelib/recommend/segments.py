"""Audience segments (根据人群定位推荐): age band x gender x occupation x first interest, and their lists.

The refresh stores, for every segment at least MIN_MEMBERS of whose users have behaviour, the products its members
bought and viewed most. A segment too small to say anything is widened: first interest dropped, then occupation,
then gender (age band alone). A signed-in shopper with no behaviour of their own gets the most specific stored list
of their segment; nothing stored at any width leaves them the hot list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from chalicelib.recommend.behaviour import KIND_WEIGHTS, Interaction

MIN_MEMBERS = 3  # users with behaviour a segment needs before its list is used
SEGMENT_K = 40  # products stored per segment
ANY = "*"
AGE_BANDS = ((18, "<18"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (60, "45-59"))


@dataclass(frozen=True)
class AudienceProfile:
    """What a segment is made of: the shopper's birthday, gender, occupation and interests (category ids)."""

    birthday: str | None = None
    gender: str | None = None
    occupation: str | None = None
    interests: tuple[str, ...] = field(default_factory=tuple)


class Audience(Protocol):
    """The shoppers' profiles as segments see them (answered by the accounts context)."""

    def profiles(self, user_ids: list[str]) -> dict[str, AudienceProfile]: ...


def age_band(birthday: str | None, today: date) -> str:
    if not birthday:
        return "unknown"
    try:
        born = date.fromisoformat(birthday[:10])
    except ValueError:
        return "unknown"
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return next((band for limit, band in AGE_BANDS if age < limit), "60+")


def segment_keys(profile: AudienceProfile, today: date) -> list[str]:
    """The shopper's segment, most specific first, then each widening of it."""
    band = age_band(profile.birthday, today)
    gender = profile.gender if profile.gender in ("male", "female") else "unknown"
    occupation = profile.occupation or "unknown"
    interest = profile.interests[0] if profile.interests else "none"
    return [
        f"{band}|{gender}|{occupation}|{interest}",
        f"{band}|{gender}|{occupation}|{ANY}",
        f"{band}|{gender}|{ANY}|{ANY}",
        f"{band}|{ANY}|{ANY}|{ANY}",
    ]


def segment_lists(
    behaviour: Iterable[Interaction],
    profiles: Mapping[str, AudienceProfile],
    sellable: set[str],
    today: date,
    k: int = SEGMENT_K,
) -> dict[str, list[str]]:
    """Segment key -> its members' most bought and viewed sellable products, for every segment (at every width)
    with at least MIN_MEMBERS users with behaviour. Each user counts once per product and kind."""
    return lists_of_tallies(segment_tallies(behaviour, profiles, sellable, today), k)


def segment_tallies(
    behaviour: Iterable[Interaction], profiles: Mapping[str, AudienceProfile], sellable: set[str], today: date
) -> dict[str, Any]:
    """Segment key -> {"members": how many users with behaviour, "scores": {product_id: summed kind weights}}.
    Tallies of disjoint sets of shoppers add up (merged_tallies): a shard of the refresh counts its shoppers."""
    seen: set[tuple[str, str, str]] = set()
    scores: dict[str, dict[str, float]] = {}
    members: dict[str, set[str]] = {}
    keys_of: dict[str, list[str]] = {}
    for interaction in behaviour:
        profile = profiles.get(interaction.user_id)
        if profile is None or (interaction.user_id, interaction.product_id, interaction.kind) in seen:
            continue
        seen.add((interaction.user_id, interaction.product_id, interaction.kind))
        keys = keys_of.setdefault(interaction.user_id, segment_keys(profile, today))
        for key in keys:
            members.setdefault(key, set()).add(interaction.user_id)
            if interaction.product_id in sellable:
                counted = scores.setdefault(key, {})
                counted[interaction.product_id] = (
                    counted.get(interaction.product_id, 0.0) + KIND_WEIGHTS[interaction.kind]
                )
    return {key: {"members": len(users), "scores": scores.get(key, {})} for key, users in members.items()}


def merged_tallies(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The tallies of disjoint sets of shoppers as one."""
    merged: dict[str, Any] = {}
    for part in parts:
        for key, tally in part.items():
            into = merged.setdefault(key, {"members": 0, "scores": {}})
            into["members"] += int(tally["members"])
            for product_id, score in tally["scores"].items():
                into["scores"][product_id] = into["scores"].get(product_id, 0.0) + float(score)
    return merged


def lists_of_tallies(tallies: Mapping[str, Any], k: int = SEGMENT_K) -> dict[str, list[str]]:
    """Every segment with at least MIN_MEMBERS members: its k best products, ties by product id."""
    return {
        key: [pid for pid, _ in sorted(tally["scores"].items(), key=lambda kv: (-kv[1], kv[0]))][:k]
        for key, tally in tallies.items()
        if int(tally["members"]) >= MIN_MEMBERS
    }


def compose(
    segment: Sequence[str],
    in_interest: set[str],
    interest_best_sellers: Sequence[Sequence[str]],
    hot: Sequence[str],
    exclude: set[str],
) -> list[str]:
    """A cold shopper's picks: the segment's products in their interest categories first, then the rest of the
    segment's, then their interest categories' best sellers, then the hot list; none of `exclude`, each once."""
    ordered = [pid for pid in segment if pid in in_interest] + [pid for pid in segment if pid not in in_interest]
    for best in interest_best_sellers:
        ordered += best
    ordered += hot
    return [pid for pid in dict.fromkeys(ordered) if pid not in exclude]

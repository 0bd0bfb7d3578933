"""What goes into a seat assignment and what comes out: requests, options, the result
and its quality, with the stable reason codes the API shows.

Kept apart from :mod:`services.seating.assignment.assign` so that the solver modules can
build results without importing the entry point; ``assign`` re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from services.seating.assignment.layout import SeatGroup

VIP = 0
STANDARD = 1


class Reason(StrEnum):
    """Why a registration stayed unseated (stable codes for the API)."""

    NO_SUCH_CATEGORY = "no_such_category"  # the map has no usable seat of the requested category
    NO_ACCESSIBLE_SEAT = "no_accessible_seat"  # no usable accessible seat (of that category)
    ACCESSIBLE_FULL = "accessible_full"  # there are some, all taken
    CATEGORY_FULL = "category_full"  # every seat of the requested category is taken
    MAP_FULL = "map_full"  # no free seat left for this request


class SplitReason(StrEnum):
    NO_ROOM = "no_room"  # no run of seats or stacked block could take the whole party
    CATEGORIES = "categories"  # members asked for different categories
    SEATED_ELSEWHERE = "seated_elsewhere"  # members seated earlier had no room next to them


@dataclass(frozen=True, slots=True)
class Request:
    """One approved registration. Registrations that already have a seat may be passed too
    (the integration passes all approved ones): they keep their seat, and newcomers of
    their party are seated next to them when possible."""

    registration: str
    order: int  # registration order: lower registered earlier
    band: int = STANDARD  # priority band: lower goes first (VIP = 0)
    party: str | None = None  # people registered together share it; None = alone
    category: str | None = None  # None: any category (the party still sits in one)
    accessible: bool = False  # needs an accessible seat


@dataclass(frozen=True)
class Options:
    """Tuning; the defaults are what the benchmark measures as ``ours``."""

    order: str = "priority"  # band, then registration order; "size": largest first in a band
    fit_slack: float = 0.0  # > 0: the tightest run within this much rank of the best wins
    repair: bool = True  # re-place nearby parties by exact search before stacking or splitting
    repair_budget: int = 300_000  # search nodes all repairs of one call may spend together
    exact_limit: int = 12  # up to this many new units the exact search backs the greedy up
    exact_seats: int = 96  # ... and up to this many free seats (also the repair's area)
    exact_budget: int = 200_000  # search nodes before the exact search gives up
    progress: Callable[[int, int], None] | None = None  # (units done, units)
    progress_every: int = 500  # units between two progress calls


@dataclass(frozen=True, slots=True)
class Unseated:
    registration: str
    reason: Reason


@dataclass(frozen=True, slots=True)
class PartySeating:
    """Where a party sits when that is not one row: ``formation`` is STACKED or SPLIT."""

    party: str
    formation: str
    groups: tuple[SeatGroup, ...]
    reason: SplitReason | None = None  # for SPLIT


@dataclass(frozen=True)
class Quality:
    seated: int  # registrations seated by this run
    unseated: int
    parties: int  # parties of two or more people with a member to seat in this run
    in_one_row: int
    stacked: int
    split: int
    incomplete: int  # parties with a member left unseated
    together_share: float  # (in_one_row + stacked) / parties; 1.0 when there are none
    mean_rank_by_band: dict[int, float]  # over the seats given by this run


@dataclass(frozen=True)
class Result:
    assignments: dict[str, str]  # registration → seat id, new ones only
    unseated: tuple[Unseated, ...]
    splits: tuple[PartySeating, ...]  # every split party, with its groups
    stacked: tuple[PartySeating, ...]  # parties seated in rows directly behind each other
    quality: Quality


__all__ = ["VIP", "STANDARD", "Reason", "SplitReason", "Request", "Options", "Unseated",
           "PartySeating", "Quality", "Result"]

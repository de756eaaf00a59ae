"""Which queued session starts next, and why each of the others waits.

Priority first; within a priority, round-robin between owners: the owner who started a session least recently
goes first (one who never started goes before everyone), so one user's long queue cannot hold every device.
An owner at the per-user running limit is skipped (``limit`` 0: no limit, the single-user studio). Pure
functions over plain values: the service feeds them database rows, tests feed them anything.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

NEVER = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Queued:
    id: str
    owner_id: int | None
    priority: int
    created_at: datetime


@dataclass(frozen=True)
class Waiting:
    session_id: str
    owner_id: int | None
    position: int  # 1 = the next to start
    blocked: str | None  # "running": the owner is at the limit now; "queued": the owner's earlier ones go first


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return NEVER
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)  # SQLite returns naive datetimes


def pick_next(queued: Sequence[Queued], running: Mapping[int | None, int],
              last_started: Mapping[int | None, datetime | None], limit: int) -> Queued | None:
    """The session to start now, or None when every queued owner is at ``limit``."""
    eligible = [q for q in queued if not limit or running.get(q.owner_id, 0) < limit]
    if not eligible:
        return None
    top = max(q.priority for q in eligible)
    oldest_of: dict[int | None, Queued] = {}
    for q in sorted((q for q in eligible if q.priority == top), key=lambda q: _aware(q.created_at)):
        oldest_of.setdefault(q.owner_id, q)
    return min(oldest_of.values(), key=lambda q: (_aware(last_started.get(q.owner_id)), _aware(q.created_at)))


def queue_order(queued: Sequence[Queued], running: Mapping[int | None, int],
                last_started: Mapping[int | None, datetime | None], limit: int) -> list[Waiting]:
    """Every queued session in the order :func:`pick_next` would start them if devices freed one by one and
    nothing finished; sessions whose owner reaches the limit first come last, marked ``blocked``."""
    remaining, counts, started = list(queued), Counter(running), dict(last_started)
    # Simulated starts happen "later" than every real one, one microsecond apart.
    clock = max([datetime.now(timezone.utc), *(_aware(v) for v in started.values())])
    order: list[Waiting] = []
    while remaining:
        chosen = pick_next(remaining, counts, started, limit)
        if chosen is None:
            break
        remaining.remove(chosen)
        counts[chosen.owner_id] += 1
        clock += timedelta(microseconds=1)
        started[chosen.owner_id] = clock
        order.append(Waiting(chosen.id, chosen.owner_id, len(order) + 1, None))
    for q in sorted(remaining, key=lambda q: (-q.priority, _aware(q.created_at))):
        blocked = "running" if running.get(q.owner_id, 0) >= limit else "queued"
        order.append(Waiting(q.id, q.owner_id, len(order) + 1, blocked))
    return order

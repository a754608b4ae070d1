"""Scheduled handlers: runs every @schedule function on its rate()/cron() expression, optionally sped up."""

from __future__ import annotations

import calendar
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalice.app import Chalice, ScheduledEventConfig

from local.aws.lambda_dispatch import deployed_name, invoke_chalice_function

logger = logging.getLogger(__name__)

ACCOUNT_ID = "123456789012"  # moto's default account

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$", re.IGNORECASE)
_CRON = re.compile(r"^cron\((.+)\)$", re.IGNORECASE)
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6}
_MONTHS |= {"JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
# How far ahead a cron expression is searched for its next match (a year that never comes is an error).
_CRON_HORIZON_DAYS = 366 * 5
# Handlers the local runtime runs once the demo data is in (fire_soon) and then every N wall-clock seconds instead of
# on their deployed schedule: handler -> (environment variable, default seconds); 0 keeps the deployed schedule.
LOCAL_PERIODS = {
    "refresh_recommendations": ("LOCAL_RECOMMEND_REFRESH_SECONDS", "60"),
    "compact_analytics_lake": ("LOCAL_LAKE_COMPACT_SECONDS", "300"),
}
LOCAL_PERIODS["close_ended_flash_sales"] = ("LOCAL_FLASH_SALE_CLOSE_SECONDS", "5")  # an ended sale's rest back soon
# The order timers after payment act when the sweeper runs: locally often enough for short demo timers.
LOCAL_PERIODS["sweep_orders"] = ("LOCAL_ORDER_SWEEP_SECONDS", "30")


class VirtualClock:
    """UTC time that runs `speedup` times faster than the wall clock from the moment it is made."""

    def __init__(self, speedup: float = 1.0, start: datetime | None = None) -> None:
        if speedup <= 0:
            raise ValueError("LOCAL_SCHEDULE_SPEEDUP must be positive")
        self.speedup = speedup
        self._real_start = time.monotonic()
        self._virtual_start = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self._virtual_start + timedelta(seconds=(time.monotonic() - self._real_start) * self.speedup)

    def real_seconds_until(self, moment: datetime) -> float:
        return max(0.0, (moment - self.now()).total_seconds() / self.speedup)


def _aws_day_of_week(day: datetime) -> int:
    """AWS numbers days of the week 1 (SUN) to 7 (SAT)."""
    return (day.weekday() + 1) % 7 + 1


def _parse_field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
            if step <= 0:
                raise ValueError(f"bad step in {text!r}")
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(part, names)
            end = high if step != 1 else start
        if not (low <= start <= high and low <= end <= high):
            raise ValueError(f"{text!r} is outside {low}-{high}")
        if start <= end:
            values.update(range(start, end + 1, step))
        else:  # wrap-around range such as FRI-MON
            values.update(v for i, v in enumerate([*range(start, high + 1), *range(low, end + 1)]) if i % step == 0)
    return values


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    return int(text)


@dataclass(frozen=True)
class CronSchedule:
    """An EventBridge cron(Minutes Hours Day-of-month Month Day-of-week Year) expression, in UTC."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    day_of_month: str
    months: frozenset[int]
    day_of_week: str
    years: frozenset[int]

    @classmethod
    def parse(cls, fields_text: str) -> CronSchedule:
        fields = fields_text.split()
        if len(fields) != 6:
            raise ValueError(f"cron() needs 6 fields, got {fields_text!r}")
        minutes, hours, dom, month, dow, year = fields
        return cls(
            minutes=tuple(sorted(_parse_field(minutes, 0, 59))),
            hours=tuple(sorted(_parse_field(hours, 0, 23))),
            day_of_month=dom.upper(),
            months=frozenset(_parse_field(month, 1, 12, _MONTHS)),
            day_of_week=dow.upper(),
            years=frozenset(_parse_field(year, 1970, 2199)),
        )

    def matches_day(self, day: datetime) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        return self._matches_day_of_month(day) and self._matches_day_of_week(day)

    def _matches_day_of_month(self, day: datetime) -> bool:
        dom = self.day_of_month
        if dom in ("*", "?"):
            return True
        last = calendar.monthrange(day.year, day.month)[1]
        if dom == "L":
            return day.day == last
        if dom.endswith("W"):
            return day.day == _nearest_weekday(day.year, day.month, int(dom[:-1]))
        return day.day in _parse_field(dom, 1, 31)

    def _matches_day_of_week(self, day: datetime) -> bool:
        dow = self.day_of_week
        if dow in ("*", "?"):
            return True
        weekday = _aws_day_of_week(day)
        if dow.endswith("L"):  # e.g. 6L: the month's last Friday
            target = _value(dow[:-1] or "7", _DAYS)
            return weekday == target and day.day + 7 > calendar.monthrange(day.year, day.month)[1]
        if "#" in dow:  # e.g. 2#1: the month's first Monday
            target_text, nth = dow.split("#", 1)
            return weekday == _value(target_text, _DAYS) and (day.day - 1) // 7 + 1 == int(nth)
        return weekday in _parse_field(dow, 1, 7, _DAYS)

    def next_after(self, moment: datetime) -> datetime:
        start = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for _ in range(_CRON_HORIZON_DAYS):
            if self.matches_day(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        candidate = day.replace(hour=hour, minute=minute)
                        if candidate >= start:
                            return candidate
            day += timedelta(days=1)
        raise ValueError("cron expression never fires")


def _nearest_weekday(year: int, month: int, day_number: int) -> int:
    last = calendar.monthrange(year, month)[1]
    day_number = min(day_number, last)
    weekday = calendar.weekday(year, month, day_number)  # Monday 0 .. Sunday 6
    if weekday == 5:
        return day_number - 1 if day_number > 1 else day_number + 2
    if weekday == 6:
        return day_number + 1 if day_number < last else day_number - 2
    return day_number


@dataclass(frozen=True)
class RateSchedule:
    period: timedelta

    def next_after(self, moment: datetime, previous: datetime) -> datetime:
        upcoming = previous + self.period
        while upcoming <= moment - self.period:  # the machine slept: skip missed runs, as EventBridge does
            upcoming += self.period
        return upcoming


def parse_expression(expression: Any) -> RateSchedule | CronSchedule:
    """A Chalice schedule expression (string, Rate or Cron object) as something that knows its next time."""
    text = expression.to_string() if hasattr(expression, "to_string") else str(expression)
    text = text.strip()
    if rate := _RATE.match(text):
        amount, unit = int(rate.group(1)), rate.group(2).lower().rstrip("s")
        if amount <= 0:
            raise ValueError(f"{text}: the rate must be positive")
        return RateSchedule(timedelta(seconds=amount * _UNIT_SECONDS[unit]))
    if cron := _CRON.match(text):
        return CronSchedule.parse(cron.group(1))
    raise ValueError(f"not a rate() or cron() expression: {text!r}")


def scheduled_event(rule_name: str, at: datetime, region: str) -> dict[str, Any]:
    """The event EventBridge sends a scheduled rule's target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule_name}"],
        "detail": {},
    }


class ScheduledJob(threading.Thread):
    """Fires one @schedule handler at each of its times on a virtual clock."""

    def __init__(
        self,
        app: Chalice,
        config: ScheduledEventConfig,
        stage: str,
        clock: VirtualClock,
        on_fire: Callable[[str, datetime], None] | None = None,
    ) -> None:
        super().__init__(name=f"schedule-{config.name}", daemon=True)
        self.app = app
        self.config = config
        self.stage = stage
        self.clock = clock
        self.schedule = parse_expression(config.schedule_expression)
        if every := local_period(config.name):  # wall-clock seconds, so scaled to the virtual clock
            self.schedule = RateSchedule(timedelta(seconds=every * clock.speedup))
        self.fired = 0
        self._on_fire = on_fire
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def next_time(self, now: datetime, previous: datetime) -> datetime:
        if isinstance(self.schedule, RateSchedule):
            return self.schedule.next_after(now, previous)
        return self.schedule.next_after(now)

    def run(self) -> None:
        previous = self.clock.now()
        while not self._stopping.is_set():
            upcoming = self.next_time(self.clock.now(), previous)
            if self._stopping.wait(self.clock.real_seconds_until(upcoming)):
                break
            self.fire(upcoming)
            previous = upcoming

    def fire(self, at: datetime) -> None:
        function_name = deployed_name(self.stage, self.config.name)
        region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        event = scheduled_event(f"{function_name}-event", at, region)
        _payload, failed = invoke_chalice_function(self.app, self.config.name, event, function_name=function_name)
        self.fired += 1
        if failed:
            logger.warning("scheduled handler %s failed at %s", self.config.name, event["time"])
        if self._on_fire is not None:
            self._on_fire(self.config.name, at)


def local_period(name: str) -> float | None:
    """The local runtime's period of this handler in wall-clock seconds, if it runs on one."""
    if name not in LOCAL_PERIODS:
        return None
    variable, default = LOCAL_PERIODS[name]
    seconds = float(os.environ.get(variable) or default)
    return seconds if seconds > 0 else None


def fire_soon(jobs: list[ScheduledJob]) -> list[threading.Thread]:
    """Run every job with a local period once now, each in its own thread (the server need not wait for it)."""
    threads = [
        threading.Thread(target=job.fire, args=(job.clock.now(),), name=f"first-{job.config.name}", daemon=True)
        for job in jobs
        if local_period(job.config.name)
    ]
    for thread in threads:
        thread.start()
    return threads


def schedule_speedup() -> float:
    return float(os.environ.get("LOCAL_SCHEDULE_SPEEDUP") or "1")


def scheduled_handlers(app: Chalice) -> list[ScheduledEventConfig]:
    return [source for source in app.event_sources if isinstance(source, ScheduledEventConfig)]


def start_scheduler(
    app: Chalice,
    stage: str | None = None,
    speedup: float | None = None,
    on_fire: Callable[[str, datetime], None] | None = None,
) -> list[ScheduledJob]:
    """Start a job for every @schedule handler of `app` (LOCAL_SCHEDULE_SPEEDUP=60: an hour per minute)."""
    stage = stage or os.environ.get("SHOP_STAGE", "local")
    clock = VirtualClock(speedup if speedup is not None else schedule_speedup())
    jobs = [ScheduledJob(app, config, stage, clock, on_fire) for config in scheduled_handlers(app)]
    for job in jobs:
        job.start()
    return jobs


def stop_scheduler(jobs: list[ScheduledJob], timeout: float = 5.0) -> None:
    for job in jobs:
        job.stop()
    for job in jobs:
        job.join(timeout)

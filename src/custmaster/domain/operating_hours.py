"""Operating hours of an account: weekly opening times with date exceptions.

Conventions:

* weekdays are numbered like :meth:`datetime.date.weekday` (0 = Monday) and named
  ``monday`` ... ``sunday`` in the JSON form;
* an interval is ``[opens, closes)``: open at ``opens``, closed from ``closes`` on;
  ``closes`` must be after ``opens``, so intervals never cross midnight (split them:
  ``22:00-24:00`` on one day, ``00:00-02:00`` on the next); ``"24:00"`` means the end of
  the day;
* intervals of one day may touch (``08:00-12:00``, ``12:00-13:00``) but not overlap;
* an exception replaces the weekly hours of its date: no intervals = closed all day;
* naive datetimes are read as the account's local time; aware ones are converted to the
  account's ``timezone`` when it is set (otherwise their own wall-clock time is used).

JSON form (``to_dict``/``from_dict``)::

    {"timezone": "Europe/Berlin",
     "weekly": {"monday": ["08:00-12:00", "13:00-17:00"], "saturday": ["09:00-12:00"]},
     "exceptions": [{"date": "2026-12-24", "closed": true, "note": "Christmas Eve"},
                    {"date": "2026-12-31", "hours": ["09:00-12:00"]}]}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from custmaster.domain.errors import FieldError, ValidationFailed

WEEKDAYS: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
END_OF_DAY = time.max


def parse_time(text: str) -> time:
    """``"HH:MM"`` (or ``"HH:MM:SS"``); ``"24:00"`` is the end of the day."""
    if text in ("24:00", "24:00:00"):
        return END_OF_DAY
    if len(text) not in (5, 8):
        raise ValueError(f"'{text}' is not a time of day (HH:MM)")
    return time.fromisoformat(text)


def format_time(value: time) -> str:
    return "24:00" if value == END_OF_DAY else value.strftime("%H:%M")


def weekday_number(day: int | str) -> int:
    """0-6 or a weekday name (any case) -> 0-6; ValueError otherwise."""
    if isinstance(day, int) and not isinstance(day, bool) and 0 <= day <= 6:
        return day
    if isinstance(day, str) and day.lower() in WEEKDAYS:
        return WEEKDAYS.index(day.lower())
    raise ValueError(f"'{day}' is not a weekday (monday ... sunday or 0-6)")


@dataclass(frozen=True, slots=True, order=True)
class OpeningInterval:
    """Open from ``opens`` (inclusive) to ``closes`` (exclusive)."""

    opens: time
    closes: time

    @classmethod
    def parse(cls, text: str) -> OpeningInterval:
        """``"08:00-12:00"``; validity (closes > opens) is checked by the owner."""
        opens, sep, closes = text.partition("-")
        if not sep:
            raise ValueError(f"'{text}' is not an interval (HH:MM-HH:MM)")
        return cls(parse_time(opens.strip()), parse_time(closes.strip()))

    def contains(self, moment: time) -> bool:
        return self.opens <= moment < self.closes

    def __str__(self) -> str:
        return f"{format_time(self.opens)}-{format_time(self.closes)}"


def check_intervals(intervals: Sequence[OpeningInterval], where: str) -> list[FieldError]:
    """Errors of one day's intervals: each ``closes > opens``, none overlapping."""
    errors = [
        FieldError(f"{where}[{i}].closes", "invalid_interval", f"{iv}: closes must be after opens")
        for i, iv in enumerate(intervals)
        if iv.closes <= iv.opens
    ]
    ordered = sorted(range(len(intervals)), key=lambda i: intervals[i])
    widest: int | None = None  # the interval reaching furthest so far
    for i in ordered:
        if widest is not None and intervals[i].opens < intervals[widest].closes:
            errors.append(
                FieldError(
                    f"{where}[{i}]",
                    "overlapping_intervals",
                    f"{intervals[i]} overlaps {intervals[widest]}",
                )
            )
        if widest is None or intervals[i].closes > intervals[widest].closes:
            widest = i
    return errors


@dataclass(frozen=True, slots=True)
class HoursException:
    """Hours of one date replacing the weekly ones; no intervals = closed all day."""

    on: date
    intervals: tuple[OpeningInterval, ...] = ()
    note: str | None = None

    @property
    def closed(self) -> bool:
        return not self.intervals


@dataclass(frozen=True)
class OperatingHours:
    """Weekly opening times plus date exceptions; validated when built."""

    weekly: Mapping[int, tuple[OpeningInterval, ...]] = field(default_factory=dict)
    exceptions: Mapping[date, HoursException] = field(default_factory=dict)
    timezone: str | None = None

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        for day, intervals in self.weekly.items():
            if isinstance(day, bool) or not (isinstance(day, int) and 0 <= day <= 6):
                errors.append(FieldError("weekly", "invalid_weekday", f"'{day}' is not 0-6"))
                continue
            errors.extend(check_intervals(intervals, f"weekly.{WEEKDAYS[day]}"))
        for i, (on, exc) in enumerate(sorted(self.exceptions.items())):
            if exc.on != on:
                errors.append(
                    FieldError(f"exceptions[{i}].date", "mismatch", f"{exc.on} filed under {on}")
                )
            errors.extend(check_intervals(exc.intervals, f"exceptions[{i}].hours"))
        if self.timezone is not None:
            try:
                ZoneInfo(self.timezone)
            except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
                errors.append(
                    FieldError(
                        "timezone", "unknown_timezone", f"unknown IANA time zone {self.timezone!r}"
                    )
                )
        if errors:
            raise ValidationFailed(errors)
        object.__setattr__(
            self, "weekly", {d: tuple(sorted(iv)) for d, iv in sorted(self.weekly.items()) if iv}
        )
        object.__setattr__(
            self,
            "exceptions",
            {
                on: HoursException(exc.on, tuple(sorted(exc.intervals)), exc.note)
                for on, exc in sorted(self.exceptions.items())
            },
        )

    @classmethod
    def build(
        cls,
        weekly: Mapping[int | str, Iterable[OpeningInterval]],
        exceptions: Iterable[HoursException] = (),
        timezone: str | None = None,
    ) -> OperatingHours:
        """From weekday names or numbers and a list of exceptions (one per date)."""
        errors: list[FieldError] = []
        days: dict[int, tuple[OpeningInterval, ...]] = {}
        for key, intervals in weekly.items():
            try:
                days[weekday_number(key)] = tuple(intervals)
            except ValueError as exc:
                errors.append(FieldError(f"weekly.{key}", "invalid_weekday", str(exc)))
        by_date: dict[date, HoursException] = {}
        for i, item in enumerate(exceptions):
            if item.on in by_date:
                errors.append(
                    FieldError(f"exceptions[{i}].date", "duplicate", f"{item.on} is listed twice")
                )
            by_date[item.on] = item
        if errors:
            raise ValidationFailed(errors)
        return cls(days, by_date, timezone)

    def hours_on(self, day: date) -> tuple[OpeningInterval, ...]:
        """The intervals of a date: its exception if any, else the weekly ones."""
        exc = self.exceptions.get(day)
        if exc is not None:
            return exc.intervals
        return self.weekly.get(day.weekday(), ())

    def is_open(self, at: datetime) -> bool:
        if at.tzinfo is not None and self.timezone is not None:
            at = at.astimezone(ZoneInfo(self.timezone))
        moment = at.time()
        return any(iv.contains(moment) for iv in self.hours_on(at.date()))

    # --- JSON form -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "weekly": {
                WEEKDAYS[day]: [str(iv) for iv in intervals]
                for day, intervals in self.weekly.items()
            },
            "exceptions": [
                {"date": on.isoformat(), "closed": True, "note": exc.note}
                if exc.closed
                else {
                    "date": on.isoformat(),
                    "hours": [str(iv) for iv in exc.intervals],
                    "note": exc.note,
                }
                for on, exc in self.exceptions.items()
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OperatingHours:
        """Parse the JSON form; every problem is reported with its field path."""
        errors: list[FieldError] = []
        unknown = set(data) - {"timezone", "weekly", "exceptions"}
        errors.extend(FieldError(k, "unknown_field", "unknown field") for k in sorted(unknown))
        weekly: dict[int | str, list[OpeningInterval]] = {}
        for key, items in dict(data.get("weekly") or {}).items():
            weekly[key] = _parse_intervals(items, f"weekly.{key}", errors)
        exceptions: list[HoursException] = []
        for i, item in enumerate(data.get("exceptions") or []):
            parsed = _parse_exception(item, f"exceptions[{i}]", errors)
            if parsed is not None:
                exceptions.append(parsed)
        if errors:
            raise ValidationFailed(errors)
        return cls.build(weekly, exceptions, data.get("timezone"))


def _parse_intervals(items: Any, where: str, errors: list[FieldError]) -> list[OpeningInterval]:
    if not isinstance(items, list):
        errors.append(FieldError(where, "invalid_type", "expected a list of HH:MM-HH:MM"))
        return []
    parsed: list[OpeningInterval] = []
    for j, text in enumerate(items):
        try:
            if isinstance(text, Mapping):
                parsed.append(
                    OpeningInterval(parse_time(text["opens"]), parse_time(text["closes"]))
                )
            else:
                parsed.append(OpeningInterval.parse(str(text)))
        except (ValueError, KeyError, TypeError) as exc:
            errors.append(FieldError(f"{where}[{j}]", "invalid_time", str(exc)))
    return parsed


def _parse_exception(item: Any, where: str, errors: list[FieldError]) -> HoursException | None:
    if not isinstance(item, Mapping):
        errors.append(FieldError(where, "invalid_type", "expected an object"))
        return None
    try:
        on = date.fromisoformat(str(item.get("date")))
    except ValueError:
        errors.append(FieldError(f"{where}.date", "invalid_date", "expected YYYY-MM-DD"))
        return None
    closed = bool(item.get("closed", False))
    hours = item.get("hours")
    if closed and hours:
        errors.append(FieldError(f"{where}.hours", "conflict", "a closed day has no hours"))
        return None
    if not closed and not hours:
        errors.append(
            FieldError(f"{where}.hours", "required", "give the special hours or closed: true")
        )
        return None
    intervals = _parse_intervals(hours, f"{where}.hours", errors) if hours else []
    note = item.get("note")
    return HoursException(on, tuple(intervals), str(note) if note is not None else None)

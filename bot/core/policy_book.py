"""A council's own timescales: read from a policy file and POLICY_<FIELD> settings, checked, and
kept with where each value came from, per nation.

A policy file is TOML or YAML: an optional `name` (how rule texts credit the council's values,
e.g. "North Borough's procedure"), a `[default]` section for every nation and one section per
nation (`[england]`, `[wales]`, `[scotland]`, `[northern-ireland]`), each naming fields of
`Policy`. Values are whole numbers in the field's unit, or words: "10 working days", "4 weeks",
"1 month". Precedence, lowest first: the national default, the file's `[default]`, the file's
nation section, then POLICY_<FIELD> settings (every nation).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.core.calendar import Nation
from bot.core.errors import BadInput
from bot.core.policy import STRICTER, Policy, timescale_names

DEFAULT_NAME = "the council's procedure"
ENV_PREFIX = "POLICY_"
# POLICY_* settings that are not timescales.
ENV_OPTIONS = ("POLICY_FILE", "POLICY_NAME", "POLICY_ALLOW_LOOSER")

Overrides = tuple[tuple[str, int], ...]


class PolicyError(ValueError):
    """A policy setting that cannot be used; the message names the field and what is allowed."""


@dataclass(frozen=True)
class _Unit:
    """How a field's value is written and its sane bounds."""

    words: str  # "working days", "days", "months"
    low: int
    high: int


def _unit(name: str) -> _Unit:
    if name.endswith("_working_days"):
        return _Unit("working days", 1, 30)
    if name == "meeting_interval_days":
        return _Unit("days", 7, 84)  # 1 to 12 weeks
    if name == "meeting_interval_months":
        return _Unit("months", 1, 3)
    return _Unit("months", 1, 12)


_WORDS = re.compile(r"^\s*(\d+)\s*(working days?|days?|weeks?|months?)?\s*$", re.IGNORECASE)


def parse_value(name: str, raw: object) -> dict[str, int]:
    """The field values one setting stands for: `meeting_interval_days = "1 month"` sets the
    interval in months. PolicyError names the field and the allowed values."""
    unit = _unit(name)
    allowed = _allowed(name)
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise PolicyError(f"{name} = {raw!r} is not a timescale; use {allowed}.")
    match = _WORDS.match(str(raw))
    if match is None:
        raise PolicyError(f"{name} = {raw!r} is not a timescale; use {allowed}.")
    number, words = int(match.group(1)), (match.group(2) or unit.words).lower().rstrip("s")
    target, value = name, number
    if name == "meeting_interval_days" and words == "week":
        value = number * 7
    elif name == "meeting_interval_days" and words == "month":
        target = "meeting_interval_months"
    elif words != unit.words.rstrip("s"):
        raise PolicyError(f"{name} = {raw!r} is in the wrong unit; use {allowed}.")
    bounds = _unit(target)
    if not bounds.low <= value <= bounds.high:
        raise PolicyError(f"{name} = {raw!r} is out of range; use {allowed}.")
    return {target: value}


def _allowed(name: str) -> str:
    unit = _unit(name)
    if name == "meeting_interval_days":
        return '1 to 12 weeks ("6 weeks"), 7 to 84 days (42) or 1 to 3 months ("1 month")'
    example = f"{unit.low + 1} {unit.words}"
    return f'a whole number of {unit.words} from {unit.low} to {unit.high} ("{example}")'


def _section(values: Mapping[str, Any], where: str) -> dict[str, int]:
    known = timescale_names()
    parsed: dict[str, int] = {}
    for name, raw in values.items():
        key = str(name).strip().lower().replace("-", "_")
        if key not in known:
            raise PolicyError(
                f"{where}: there is no timescale called {name!r}. Known: {', '.join(known)}."
            )
        try:
            parsed.update(parse_value(key, raw))
        except PolicyError as exc:
            raise PolicyError(f"{where}: {exc}") from None
    return parsed


def _interval_days(policy: Policy) -> int:
    """The longest the meeting gap can be, in days (a month counts as 31)."""
    if policy.meeting_interval_months:
        return policy.meeting_interval_months * 31
    return policy.meeting_interval_days


def _describe(policy: Policy, name: str) -> str:
    if name in ("meeting_interval_days", "meeting_interval_months"):
        return policy.meeting_interval
    value = getattr(policy, name)
    unit = _unit(name).words
    return f"{value} {unit.rstrip('s') if value == 1 else unit}"


@dataclass(frozen=True)
class PolicyLine:
    """One timescale in force for a nation, in words, with its source."""

    nation: Nation
    name: str
    value: str
    source: str


@dataclass(frozen=True)
class PolicyBook:
    """The timescales in force for each nation, with where each value came from."""

    name: str = DEFAULT_NAME
    default: Overrides = ()
    nations: tuple[tuple[Nation, Overrides], ...] = ()
    env: Overrides = ()
    allow_looser: bool = False
    origin: str = ""  # the file the values came from, for `policy show`
    _cache: dict[Nation, Policy] = field(default_factory=dict, compare=False, repr=False)

    def for_nation(self, nation: Nation) -> Policy:
        """The policy for a case in `nation`."""
        if nation not in self._cache:
            policy = Policy.for_nation(nation)
            for layer in (self.default, dict(self.nations).get(nation, ()), self.env):
                if layer:
                    policy = policy.with_overrides(self.name, **dict(layer))
            self._cache[nation] = policy
        return self._cache[nation]

    def looser(self) -> list[str]:
        """Each timescale set looser than the national default, in words."""
        found = []
        for nation in Nation:
            base, mine = Policy.for_nation(nation), self.for_nation(nation)
            for name, way in STRICTER.items():
                if name == "meeting_interval_months":
                    continue
                ours, theirs = getattr(mine, name), getattr(base, name)
                if name == "meeting_interval_days":
                    ours, theirs = _interval_days(mine), _interval_days(base)
                if (way == "less" and ours > theirs) or (way == "more" and ours < theirs):
                    found.append(
                        f"{name} for {nation.label} is {_describe(mine, name)}, looser than "
                        f"the {base.source_of(name)} of {_describe(base, name)}"
                    )
        return found

    def lines(self) -> list[PolicyLine]:
        """Every timescale in force, nation by nation, with its source."""
        out = []
        for nation in Nation:
            policy = self.for_nation(nation)
            for name in timescale_names():
                if name == "meeting_interval_months":
                    continue
                source = (
                    policy.meeting_interval_source
                    if name == "meeting_interval_days"
                    else policy.source_of(name)
                )
                out.append(PolicyLine(nation, name, _describe(policy, name), source))
        return out

    def fingerprint(self) -> str:
        """A short text that changes whenever any nation's timescales do."""
        return ";".join(
            f"{nation.value}:"
            + ",".join(str(getattr(self.for_nation(nation), n)) for n in timescale_names())
            for nation in Nation
        )


def load_policy_book(
    *,
    path: Path | None,
    env: Mapping[str, str],
    name: str | None = None,
    allow_looser: bool = False,
) -> PolicyBook:
    """Read the policy file at `path` (if any) and the POLICY_<FIELD> entries of `env`, check
    them, and refuse a looser timescale unless `allow_looser`. PolicyError says what is wrong."""
    document: dict[str, Any] = _read(path) if path is not None else {}
    where = f"POLICY_FILE {path}" if path is not None else ""
    title = document.pop("name", None)
    if title is not None and (not isinstance(title, str) or not title.strip()):
        raise PolicyError(f'{where}: name must be text, e.g. name = "North Borough\'s procedure".')
    default = _section(
        _table(document.pop("default", {}), f"{where} [default]"), f"{where} [default]"
    )
    nations: list[tuple[Nation, Overrides]] = []
    for key, values in document.items():
        try:
            nation = Nation.parse(str(key))
        except BadInput:
            raise PolicyError(
                f"{where}: [{key}] is not a section I know. Use [default] or one per nation: "
                + ", ".join(f"[{n.value}]" for n in Nation)
                + "."
            ) from None
        label = f"{where} [{key}]"
        nations.append((nation, tuple(_section(_table(values, label), label).items())))
    from_env: dict[str, int] = {}
    for key, raw in env.items():
        upper = key.upper()
        if not upper.startswith(ENV_PREFIX) or upper in ENV_OPTIONS:
            continue
        field_name = upper.removeprefix(ENV_PREFIX).lower()
        if field_name not in timescale_names():
            raise PolicyError(
                f"{upper}: there is no timescale called {field_name!r}. Known: "
                + ", ".join(ENV_PREFIX + n.upper() for n in timescale_names())
                + f"; and {', '.join(ENV_OPTIONS)}."
            )
        try:
            from_env.update(parse_value(field_name, raw))
        except PolicyError as exc:
            raise PolicyError(f"{upper}: {exc}") from None
    book = PolicyBook(
        name=(name or title or DEFAULT_NAME).strip(),
        default=tuple(default.items()),
        nations=tuple(nations),
        env=tuple(from_env.items()),
        allow_looser=allow_looser,
        origin=str(path) if path is not None else "",
    )
    looser = book.looser()
    if looser and not allow_looser:
        raise PolicyError(
            f"{looser[0]}. A council may only make a timescale stricter than the default; set "
            "POLICY_ALLOW_LOOSER=true if its procedure is deliberately different."
        )
    return book


def _table(values: object, where: str) -> Mapping[str, Any]:
    if not isinstance(values, Mapping):
        raise PolicyError(f"{where} must be a section of name = value lines.")
    return values


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"POLICY_FILE: cannot read {path} ({exc.strerror}).") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            loaded = yaml.safe_load(text) or {}
        else:
            loaded = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PolicyError(f"POLICY_FILE {path} is not valid TOML or YAML: {first}") from None
    if not isinstance(loaded, dict):
        raise PolicyError(f"POLICY_FILE {path}: expected sections of name = value lines.")
    return loaded

"""The seed's users: six demo personas, then the crowd.

The crowd is shaped like a real platform's: sign-ups grow over six years; most accounts are active,
some lapsed months ago and some went dormant years ago (the eligibility job must skip them); a few
are banned; buying and posting are both heavy-tailed and independent of each other. Personas take
the first six ids so their rows are easy to find; the samplers of the crowd's activity never pick
them, so what a persona has bought or written is exactly what ``activity.py`` gives them.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from seeding import vocabulary as words
from seeding.calendar import Calendar
from seeding.columns import NULL_INT, US_PER_DAY, US_PER_SECOND, Chunk

#: Published in the README and printed by the command: demo accounts are for local development only.
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105


@dataclass(frozen=True)
class Persona:
    email: str
    role: str
    display_name: str
    joined_days_ago: int
    seen_hours_ago: int
    is_staff: bool = False


PERSONAS: tuple[Persona, ...] = (
    Persona("shopper@demo.xhs", "shopper", "小红薯新人", joined_days_ago=12, seen_hours_ago=20),
    Persona("buyer@demo.xhs", "buyer", "爱买买的Lily", joined_days_ago=700, seen_hours_ago=3),
    Persona("manager@demo.xhs", "ecosystem manager", "资深种草官阿May", joined_days_ago=2000, seen_hours_ago=1),
    Persona("staff@demo.xhs", "staff", "平台运营小助手", joined_days_ago=2190, seen_hours_ago=2, is_staff=True),
    # Last, so the first four keep the ids they always had. Old enough for the rules test's entry bar; the
    # ratings demo makes one of their purchases a verified one (a vote), and nobody grants them a term.
    Persona("candidate@demo.xhs", "candidate", "认真测评的小周", joined_days_ago=420, seen_hours_ago=5),
    # A brand's marketing team: no purchases, no role; the ratings demo links it to a brand (``/brand/``).
    Persona("brand@demo.xhs", "brand", "品牌市场部", joined_days_ago=200, seen_hours_ago=4),
)
SHOPPER, BUYER, MANAGER, STAFF, CANDIDATE, BRAND = range(len(PERSONAS))
#: Crowd users start after the personas.
FIRST_CROWD_USER = len(PERSONAS)

_PLATFORM_AGE_DAYS = 6 * 365
#: Makes a user's QQ number from the id; coprime with 9 * 10**8, so numbers never repeat.
_QQ_MULTIPLIER = 7_919_993


@dataclass
class Population:
    """Per user (index i has id i + 1): when they could act, and how much they buy, post and browse."""

    joined_us: npt.NDArray[np.int64]
    #: The last visit; a user who never came back has their sign-up instant here.
    active_until_us: npt.NDArray[np.int64]
    last_seen_us: npt.NDArray[np.int64]
    banned: npt.NDArray[np.bool_]
    buying: npt.NDArray[np.float64]
    posting: npt.NDArray[np.float64]
    browsing: npt.NDArray[np.float64]
    _domain: npt.NDArray[np.int64]
    _handle: npt.NDArray[np.int64]
    _nick: npt.NDArray[np.int64]

    @property
    def count(self) -> int:
        return len(self.joined_us)

    def chunks(self, *, persona_password: str, crowd_password: str, rows: int) -> Iterator[Chunk]:
        """The users table, ``rows`` users at a time (names and emails are built per chunk)."""
        for start in range(0, self.count, rows):
            stop = min(start + rows, self.count)
            yield self._rows(start, stop, persona_password, crowd_password)

    def _rows(self, start: int, stop: int, persona_password: str, crowd_password: str) -> Chunk:
        ids = np.arange(start + 1, stop + 1, dtype=np.int64)
        domains = [name for name, _ in words.EMAIL_DOMAINS]
        emails, nicknames, passwords = [], [], []
        for i in range(start, stop):
            if i < FIRST_CROWD_USER:
                persona = PERSONAS[i]
                emails.append(persona.email)
                nicknames.append(persona.display_name)
                passwords.append(persona_password)
                continue
            domain = domains[self._domain[i]]
            if domain == "qq.com":
                local = str(100_000_000 + (i + 1) * _QQ_MULTIPLIER % 900_000_000)
            else:
                local = f"{words.EMAIL_HANDLES[self._handle[i] % len(words.EMAIL_HANDLES)]}{i + 1}"
            emails.append(f"{local}@{domain}")
            nick = self._nick[i]
            if nick % 13 == 0:
                nicknames.append("")
            else:
                prefix = words.NICK_PREFIXES[nick % len(words.NICK_PREFIXES)]
                noun = words.NICK_NOUNS[nick // 16 % len(words.NICK_NOUNS)]
                suffix = words.NICK_SUFFIXES[nick // 512 % len(words.NICK_SUFFIXES)]
                nicknames.append(f"{prefix}{noun}{suffix}{nick % 1000 if suffix == '_' else ''}")
            passwords.append(crowd_password)
        staff = np.zeros(stop - start, dtype=bool)
        if start <= STAFF < stop:
            staff[STAFF - start] = True
        joined = self.joined_us[start:stop]
        seen = self.last_seen_us[start:stop]
        text = np.empty((3, stop - start), dtype=object)
        text[0], text[1], text[2] = emails, nicknames, passwords
        return {
            "id": ids,
            "password": text[2],
            "last_login": seen,
            "is_superuser": staff,
            "is_staff": staff,
            "is_active": np.ones(stop - start, dtype=bool),
            "date_joined": joined,
            "email": text[0],
            "display_name": text[1],
            "is_banned": self.banned[start:stop],
            "last_seen_at": seen,
            "created_at": joined,
            "updated_at": np.where(seen == NULL_INT, joined, seen),
        }


def build_population(rng: np.random.Generator, *, users: int, calendar: Calendar) -> Population:
    if users < FIRST_CROWD_USER + 10:
        raise ValueError(f"need at least {FIRST_CROWD_USER + 10} users")
    now = calendar.now_us
    start = now - _PLATFORM_AGE_DAYS * US_PER_DAY
    # Sign-ups grow linearly with time: the square root of a uniform number has a rising density.
    joined = start + (np.sqrt(rng.random(users)) * (now - US_PER_DAY - start)).astype(np.int64)
    state = rng.random(users)
    recent = now - (rng.exponential(4 * US_PER_DAY, users)).astype(np.int64)
    lapsed = now - rng.integers(30 * US_PER_DAY, 365 * US_PER_DAY, size=users)
    dormant_end = np.maximum(joined, now - 365 * US_PER_DAY)
    dormant = joined + (rng.random(users) * (dormant_end - joined)).astype(np.int64)
    seen = np.where(state < 0.62, recent, np.where(state < 0.82, lapsed, dormant))
    seen = np.maximum(seen, joined + 60 * US_PER_SECOND)
    never_returned = state >= 0.99
    last_seen = np.where(never_returned, NULL_INT, seen)
    active_until = np.where(never_returned, joined, seen)

    banned = rng.random(users) < 0.015
    buying = rng.lognormal(0, 1.1, users)
    posting = np.where(rng.random(users) < 0.45, rng.lognormal(0, 1.4, users), 0.0)
    posting[banned] *= 4  # paid writers and spammers post a lot, which is often why they get banned
    browsing = np.where(never_returned, 0.0, rng.lognormal(0, 0.8, users))

    for index, persona in enumerate(PERSONAS):
        joined[index] = now - persona.joined_days_ago * US_PER_DAY
        last_seen[index] = active_until[index] = now - persona.seen_hours_ago * 3600 * US_PER_SECOND
    banned[:FIRST_CROWD_USER] = False
    for weights in (buying, posting, browsing):
        weights[:FIRST_CROWD_USER] = 0.0

    shares = np.array([share for _, share in words.EMAIL_DOMAINS])
    return Population(
        joined_us=joined,
        active_until_us=active_until,
        last_seen_us=last_seen,
        banned=banned,
        buying=buying,
        posting=posting,
        browsing=browsing,
        _domain=rng.choice(len(shares), size=users, p=shares / shares.sum()),
        _handle=rng.integers(0, 1 << 30, size=users),
        _nick=rng.integers(0, 1 << 30, size=users),
    )

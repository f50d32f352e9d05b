"""Alliances and status acts: the vocabulary of non-accession and neutrality provisions.

A status event is an act about a state's membership of an alliance (an application, an
accession, ...) or a statement of its status, reported as an observation of kind ``status``
with its source. Alliance names are compared by a key: the known military alliances below
have their aliases and spellings (English, French, Russian) so that "OTAN", "НАТО" and "North
Atlantic Treaty Organization" are one alliance; any other name is compared as written
(case- and spacing-insensitive).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class StatusAct(StrEnum):
    """What a status event records. ``party`` is the state whose status it is."""

    DECLARATION_OF_INTENT = "declaration_of_intent"
    """The state declares it intends to join the alliance (e.g. in its constitution)."""
    APPLICATION = "application"
    """The state applies for membership."""
    INVITATION = "invitation"
    """The alliance invites the state: the alliance's act, never the invited state's."""
    RATIFICATION = "ratification"
    """The state ratifies its accession treaty or protocol."""
    ACCESSION = "accession"
    """The state becomes a member (e.g. deposits its instrument of accession)."""
    WITHDRAWAL_OF_APPLICATION = "withdrawal_of_application"
    """The state withdraws its application."""
    STATUS_DECLARATION = "status_declaration"
    """The state declares it holds the status the provision requires (not a member, no
    application; for neutrality without an alliance named: neutral, no foreign bases)."""
    MEMBERSHIP_CHECK = "membership_check"
    """An authoritative check of the alliance's members as of a date (``member``: true/false),
    e.g. the alliance's own list or the treaty's depositary."""
    BASING_AGREEMENT = "basing_agreement"
    """The state agrees to a foreign military base or stationing (``nationality``: whose)."""


#: Acts done by the state itself, which a provision may name in ``breach_on``.
OWN_ACTS: tuple[StatusAct, ...] = (
    StatusAct.DECLARATION_OF_INTENT,
    StatusAct.APPLICATION,
    StatusAct.RATIFICATION,
    StatusAct.ACCESSION,
)

#: What a provision breaches on unless it says otherwise (docs/agreements.md).
DEFAULT_BREACH_ON: tuple[StatusAct, ...] = (StatusAct.APPLICATION, StatusAct.ACCESSION)


@dataclass(frozen=True)
class Alliance:
    """A military alliance: members bound to defend each other, by a named treaty."""

    name: str
    treaty: str
    aliases: tuple[str, ...] = ()


#: Military alliances known by name (mutual-defence treaties; public reference facts).
MILITARY_ALLIANCES: tuple[Alliance, ...] = (
    Alliance(
        "NATO",
        "North Atlantic Treaty, Washington, 4 April 1949 (Article 5: collective defence)",
        ("North Atlantic Treaty Organization", "North Atlantic Treaty Organisation", "OTAN",
         "Organisation du Traité de l'Atlantique Nord", "НАТО",
         "Организация Североатлантического договора"),
    ),
    Alliance(
        "CSTO",
        "Collective Security Treaty, Tashkent, 15 May 1992 (Article 4: collective defence)",
        ("Collective Security Treaty Organization", "Collective Security Treaty Organisation",
         "ОДКБ", "Организация Договора о коллективной безопасности", "ODKB"),
    ),
)


def _norm(name: str) -> str:
    return " ".join(name.casefold().replace("_", " ").replace("-", " ").split())


_INDEX: dict[str, Alliance] = {_norm(k): a for a in MILITARY_ALLIANCES for k in (a.name,
                                                                                 *a.aliases)}


def alliance_key(name: str) -> str:
    """The key two names of one alliance share: the known alliance's name, else ``name``
    normalised (case, spacing, hyphens)."""
    known = _INDEX.get(_norm(name))
    return known.name if known is not None else _norm(name)


def military_alliance(name: str) -> Alliance | None:
    """The known military alliance a name stands for, else None."""
    return _INDEX.get(_norm(name))

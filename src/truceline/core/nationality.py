"""Nationality: what a report or an agreement calls a state, as an ISO 3166-1 alpha-2 code.

Reports name a contingent's state in many ways: "Russia", "Russian Federation", "RU", "RUS",
"Russian", "russian". Comparing those strings as written makes "Ukrainian" in Ukraine look
foreign. :func:`country_code` reads every form as the state's ISO 3166-1 alpha-2 code:

* names, official names, common names and the alpha-2, alpha-3 and numeric codes, by the ISO 3166
  tables that the maintained ``pycountry`` package ships (case-insensitive);
* short names in everyday use that ISO does not list (:data:`SHORT_NAMES`, e.g. "Russia", "UK",
  "Turkey", "Great Britain");
* demonyms (:data:`DEMONYMS`, e.g. "Ukrainian", "British", "North Korean"), which ISO 3166 does
  not carry. The table follows the "Nationality" entries (noun and adjective) of the CIA World
  Factbook, "People and Society" section, for the states of Europe, the former Soviet Union,
  NATO members and the other states that have had forces or volunteers reported in Ukraine.

A string that none of these read is *unknown*: :func:`country_code` returns None and the caller
says so (a check gives "insufficient evidence" naming the value; it never guesses). A demonym that
names no single state ("Korean", "Congolese", "Chechen") is deliberately not in the table.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["DEMONYMS", "SHORT_NAMES", "country_code", "country_name"]

#: Everyday short names that ISO 3166 (as pycountry carries it) does not list → alpha-2.
SHORT_NAMES: dict[str, str] = {
    "russia": "RU",
    "uk": "GB",
    "britain": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "america": "US",
    "united states of america": "US",
    "turkey": "TR",
    "holland": "NL",
    "the netherlands": "NL",
    "macedonia": "MK",
    "republic of korea": "KR",
    "dprk": "KP",
    "vatican": "VA",
    "ivory coast": "CI",
}

#: Demonyms (CIA World Factbook, "Nationality: noun / adjective") → alpha-2. Lower case.
DEMONYMS: dict[str, str] = {
    # parties and neighbours
    "ukrainian": "UA",
    "russian": "RU",
    "belarusian": "BY",
    "belarussian": "BY",
    "moldovan": "MD",
    "georgian": "GE",
    "armenian": "AM",
    "azerbaijani": "AZ",
    "kazakhstani": "KZ",
    "kazakh": "KZ",
    "uzbekistani": "UZ",
    "uzbek": "UZ",
    "tajikistani": "TJ",
    "tajik": "TJ",
    "kyrgyzstani": "KG",
    "kyrgyz": "KG",
    "turkmen": "TM",
    # Europe and NATO
    "british": "GB",
    "briton": "GB",
    "french": "FR",
    "german": "DE",
    "polish": "PL",
    "pole": "PL",
    "american": "US",
    "canadian": "CA",
    "italian": "IT",
    "spanish": "ES",
    "spaniard": "ES",
    "portuguese": "PT",
    "dutch": "NL",
    "belgian": "BE",
    "luxembourgish": "LU",
    "luxembourger": "LU",
    "danish": "DK",
    "dane": "DK",
    "swedish": "SE",
    "swede": "SE",
    "norwegian": "NO",
    "finnish": "FI",
    "finn": "FI",
    "icelandic": "IS",
    "icelander": "IS",
    "irish": "IE",
    "estonian": "EE",
    "latvian": "LV",
    "lithuanian": "LT",
    "czech": "CZ",
    "slovak": "SK",
    "slovakian": "SK",
    "hungarian": "HU",
    "romanian": "RO",
    "bulgarian": "BG",
    "greek": "GR",
    "turkish": "TR",
    "turk": "TR",
    "austrian": "AT",
    "swiss": "CH",
    "slovenian": "SI",
    "slovene": "SI",
    "croatian": "HR",
    "croat": "HR",
    "serbian": "RS",
    "serb": "RS",
    "bosnian": "BA",
    "montenegrin": "ME",
    "macedonian": "MK",
    "albanian": "AL",
    "maltese": "MT",
    "cypriot": "CY",
    # other states with forces or volunteers reported in the war
    "north korean": "KP",
    "south korean": "KR",
    "iranian": "IR",
    "syrian": "SY",
    "chinese": "CN",
    "indian": "IN",
    "nepali": "NP",
    "nepalese": "NP",
    "sri lankan": "LK",
    "cuban": "CU",
    "colombian": "CO",
    "brazilian": "BR",
    "israeli": "IL",
    "japanese": "JP",
    "australian": "AU",
    "new zealander": "NZ",
}

_SPACE = re.compile(r"\s+")


def _key(text: str) -> str:
    return _SPACE.sub(" ", text.strip().lower())


@lru_cache(maxsize=1024)
def country_code(text: str) -> str | None:
    """The ISO 3166-1 alpha-2 code for a state's name, code or demonym; None if unknown.

    Examples
    --------
    >>> [country_code(s) for s in ("Ukraine", "Ukrainian", "UKR", "ua", "Russia", "russian")]
    ['UA', 'UA', 'UA', 'UA', 'RU', 'RU']
    >>> country_code("British"), country_code("United Kingdom"), country_code("UK")
    ('GB', 'GB', 'GB')
    >>> country_code("Ruritanian") is None, country_code("Korean") is None
    (True, True)
    """
    key = _key(text)
    if not key:
        return None
    if key in DEMONYMS:
        return DEMONYMS[key]
    if key in SHORT_NAMES:
        return SHORT_NAMES[key]
    if key.endswith("s") and key[:-1] in DEMONYMS:  # plural nouns: "Ukrainians", "Poles"
        return DEMONYMS[key[:-1]]
    import pycountry  # lazily: the tables take a moment to load

    try:
        return str(pycountry.countries.lookup(key).alpha_2)
    except LookupError:
        return None


def country_name(code: str) -> str:
    """The ISO 3166 short name for an alpha-2 code (the code itself if ISO has no such code)."""
    import pycountry

    found = pycountry.countries.get(alpha_2=code)
    return str(found.name) if found is not None else code

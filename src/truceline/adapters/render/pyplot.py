"""matplotlib's pyplot on the Agg backend, imported without the property lists matplotlib
writes into each artist class's ``set`` docstring.

Importing pyplot defines ~100 :class:`~matplotlib.artist.Artist` subclasses, and for each one
matplotlib reads every setter's docstring to write ``set.__doc__``
(``matplotlib.artist.kwdoc``): ~0.13 s of a one-day report's ~3 s, for text a process that
draws PNGs never reads (``help()`` on such a ``set`` shows no property list). The classes,
their signatures and every pixel are the same (the report's PNG bytes are compared in
tests/adapters/test_report_map.py and by bench/bench_report_cli.py). Imported after pyplot
already was, it changes nothing.
"""

from __future__ import annotations

import matplotlib
import matplotlib.artist

matplotlib.use("Agg")


def _no_property_list(artist: object) -> str:
    return ""


_kwdoc = matplotlib.artist.kwdoc
matplotlib.artist.kwdoc = _no_property_list
try:
    import matplotlib.pyplot as plt
finally:
    matplotlib.artist.kwdoc = _kwdoc

__all__ = ["plt"]

"""pyplot imported for drawing: the artist classes without their ``set`` property lists (text
no PNG needs), the same signatures, and matplotlib's ``kwdoc`` as it was afterwards."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import inspect
import matplotlib.artist
kwdoc = matplotlib.artist.kwdoc
from truceline.adapters.render.pyplot import plt
from matplotlib.lines import Line2D
from matplotlib.text import Text
print("agg_filter" not in Line2D.set.__doc__,  # the list's first entry, for every artist
      "agg_filter" not in Text.set.__doc__,
      "linewidth" in inspect.signature(Line2D.set).parameters,
      matplotlib.artist.kwdoc is kwdoc and "agg_filter" in kwdoc(Line2D),
      plt.get_backend().lower() == "agg")
"""


def test_pyplot_without_property_lists_same_signatures_kwdoc_restored() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], check=True, capture_output=True,
                         text=True).stdout.split()
    assert out == ["True"] * 5

"""Read a digital elevation model (a GeoTIFF, or any raster GDAL reads) for the coverage model.

The core needs only arrays (:class:`truceline.core.terrain.Dem`); this adapter reads the first
band with rasterio, turns nodata into NaN and keeps the affine transform and CRS as given
(the core projects lon/lat into the DEM's CRS, so no resampling happens here).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from truceline.core.terrain import Dem
from truceline.errors import ValidationError

__all__ = ["read_dem"]


def read_dem(path: str | Path) -> Dem:
    """The DEM in ``path``; a clear error naming ``dem`` when it cannot be read or has no CRS."""
    import rasterio
    from rasterio.errors import RasterioIOError

    p = Path(path)
    try:
        with rasterio.open(p) as src:
            z = src.read(1, masked=True).astype(float).filled(np.nan)
            t = src.transform
            crs = src.crs
    except RasterioIOError as exc:
        raise ValidationError(f"cannot read {p.name}: {exc}", field="dem") from None
    if crs is None:
        raise ValidationError(f"{p.name} has no coordinate reference system", field="dem")
    return Dem(np.asarray(z, float), (t.a, t.b, t.c, t.d, t.e, t.f), crs.to_wkt(), p.name)

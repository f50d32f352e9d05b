"""The error scale's grid likelihood (core/fusion/dispersion._loglik) against its baseline, the
F log-density evaluated whole for every fit at every grid point (the code before 2026-12-05,
restated here), on the same draws in the same run: CPU seconds per call and the ratio.

    python bench/bench_dispersion.py [--fits 300 3000 30000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy.special import gammaln

from truceline.core.fusion import dispersion


def whole(chi2: np.ndarray, dof: np.ndarray) -> np.ndarray:
    """The baseline: every fit's whole log-density at every grid point, summed over fits."""
    d1 = dof.astype(float)[:, None]
    x = np.maximum(chi2 / np.maximum(dof, 1), 1e-9)[:, None] / dispersion._S0[None, :]
    out = []
    for nu0 in dispersion._NU0:
        lf = (0.5 * (d1 * np.log(d1 * x) + nu0 * np.log(nu0) - (d1 + nu0) * np.log(d1 * x + nu0))
              - np.log(x) - (gammaln(d1 / 2) + gammaln(nu0 / 2) - gammaln((d1 + nu0) / 2)))
        out.append(np.sum(lf, axis=0) - len(d1) * np.log(dispersion._S0))
    return np.concatenate(out)


def cpu(fn, *args, repeat: int) -> float:
    fn(*args)
    best = []
    for _ in range(repeat):
        t = time.process_time()
        fn(*args)
        best.append(time.process_time() - t)
    return float(np.median(best))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fits", type=int, nargs="+", default=[300, 3000, 30000])
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    rng = np.random.default_rng(1)
    print(f"load {os.getloadavg()[0]:.1f}")
    print("| fits | baseline (whole density) s | _loglik s | ratio | max relative difference |")
    print("|---|---|---|---|---|")
    for n in a.fits:
        dof = rng.integers(1, 9, n)
        chi2 = rng.chisquare(dof) * 1.4
        ref, new = whole(chi2, dof), dispersion._loglik(chi2, dof)
        diff = float(np.max(np.abs(new - ref) / np.maximum(np.abs(ref), 1.0)))
        tb = cpu(whole, chi2, dof, repeat=a.repeat)
        tn = cpu(dispersion._loglik, chi2, dof, repeat=a.repeat)
        print(f"| {n:,} | {tb:.4f} | {tn:.4f} | {tb / tn:.1f}x | {diff:.1e} |")
    print(f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

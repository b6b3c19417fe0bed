"""X-ray accuracy on simulated scans of seeds no test or training used (the issue's simulated
targets): material class per pixel, dense regions flagged. Figures go to ``extra_info`` and are
printed; benchmarks/README.md quotes them.

Classifiable pixels: the noise-free high-energy attenuation lies inside the material table's
range (above 1.5x its minimum, below the impenetrable level) and one material class makes up
at least 90 % of it (overlaps of organic on metal have no single true class).
"""

from __future__ import annotations

import numpy as np

from imaging.xray import materials as mat
from imaging.xray.calibrate import attenuation
from imaging.xray.flags import dense_flags
from imaging.xray.physics import MATERIALS
from imaging.xray.simulate import CLASS_CODES, simulate_scan

SEEDS = range(9_100_000, 9_100_030)


def test_material_accuracy_and_dense_flags(benchmark):
    from scipy import ndimage

    table = mat.load_table()

    def measure():
        right = total = 0
        dense_found = dense_total = 0
        for seed in SEEDS:
            threats = ("gun", "knife", "dense_block", "organic_slab")
            scan = simulate_scan(seed, shape=(256, 384), threats=threats, clutter=12)
            a_low = attenuation(scan.low, dark=scan.dark, air=scan.air[0])
            a_high = attenuation(scan.high, dark=scan.dark, air=scan.air[1])
            got = mat.classify(a_low, a_high, table=table)
            exact = scan.attenuation_high
            ratio = scan.attenuation_low / np.maximum(exact, 1e-6)
            pure = np.zeros(exact.shape, bool)
            for code in (1, 2, 3):
                name = {1: "organic", 2: "mixed", 3: "metal"}[code]
                members = [m for m in MATERIALS.values() if m.material_class == name]
                lo = min(
                    m.attenuation(1.0, high=False) / m.attenuation(1.0, high=True) for m in members
                )
                hi = max(
                    m.attenuation(1.0, high=False) / m.attenuation(1.0, high=True) for m in members
                )
                pure |= (scan.material == code) & (ratio >= lo * 0.98) & (ratio <= hi * 1.02)
            inside = pure & (exact >= 1.5 * table.min_a_high) & (exact < table.max_a_high)
            truth = scan.material[inside]
            mapping = {CLASS_CODES["organic"]: mat.ORGANIC, CLASS_CODES["mixed"]: mat.MIXED,
                       CLASS_CODES["metal"]: mat.METAL}  # fmt: skip
            expected = np.vectorize(mapping.get)(truth)
            right += int((got[inside] == expected).sum())
            total += int(inside.sum())
            labels, count = ndimage.label(exact >= 5.0)
            flags = dense_flags(a_high, min_area_px=100)
            for k in range(1, count + 1):
                ys, xs = np.nonzero(labels == k)
                if len(xs) < 100:
                    continue
                dense_total += 1
                cx, cy = xs.mean(), ys.mean()
                dense_found += any(
                    f.box[0] <= cx <= f.box[2] and f.box[1] <= cy <= f.box[3] for f in flags
                )
        return {
            "material_accuracy": right / max(total, 1),
            "classifiable_pixels": total,
            "dense_regions": dense_total,
            "dense_regions_flagged": dense_found,
        }

    figures = benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update(figures)
    print(f"\n{figures}")
    assert figures["classifiable_pixels"] > 0

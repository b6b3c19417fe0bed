"""A learned model of normal content: fit on a site's normal scans, export to ONNX, flag what
departs from it.

The model is per location, for scans of one kind that line up (one container or vehicle type,
one scanner): each cell of a grid over the resized attenuation image gets the mean and spread,
over the normal scans, of two features, the cell's mean attenuation and its texture (local
standard deviation). A new scan's anomaly map is the root-mean-square z-score of its features.
The fitted statistics are baked into a small ONNX graph, so any ONNX runtime can apply it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imaging._shared.errors import EmptyImageError, ModelError
from imaging._shared.validation import check_image
from imaging.results import Flag

__all__ = ["NormalModel", "anomaly_flags", "anomaly_map", "export_normal_model", "fit_normal"]

MODEL_KIND = "imaging-xray-normal-v1"


@dataclass(frozen=True)
class NormalModel:
    """Per-cell statistics of normal scans (features: mean attenuation, local spread)."""

    size: tuple[int, int]
    cell: int
    mean: np.ndarray  # (2, H/cell, W/cell)
    std: np.ndarray
    count: int


def _features(a: np.ndarray, size: tuple[int, int], cell: int) -> np.ndarray:
    import cv2

    resized = cv2.resize(a.astype(np.float32), (size[1], size[0]), interpolation=cv2.INTER_AREA)
    h, w = size[0] // cell, size[1] // cell
    blocks = resized[: h * cell, : w * cell].reshape(h, cell, w, cell)
    mean = blocks.mean(axis=(1, 3))
    spread = np.sqrt(np.maximum((blocks**2).mean(axis=(1, 3)) - mean**2, 0.0) + 1e-6)
    return np.stack([mean, spread])


def fit_normal(
    scans: Iterable[np.ndarray | str | os.PathLike],
    *,
    size: tuple[int, int] = (128, 256),
    cell: int = 8,
    min_std: float = 0.02,
) -> NormalModel:
    """Fit the model on normal scans (attenuation arrays, or files read as X-ray images).

    Parameters
    ----------
    scans : iterable
        At least 3 normal scans of one kind.
    size : (int, int)
        Every scan is resized to this (H, W) first.
    cell : int
        Cell size in pixels of the resized image.
    min_std : float
        Floor of each cell's spread, so that a cell that never changed does not alarm on noise.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> model = fit_normal([rng.normal(1, 0.05, (64, 64)).astype(np.float32) for _ in range(5)],
    ...                    size=(64, 64))
    >>> model.mean.shape
    (2, 8, 8)
    """
    from imaging.xray.enhance import to_attenuation

    if size[0] % cell or size[1] % cell:
        raise ValueError(f"size {size} must be a multiple of cell {cell}")
    total = None
    total_sq = None
    count = 0
    for scan in scans:
        if not isinstance(scan, np.ndarray):
            from imaging.io import imread

            scan = imread(scan)
        if scan.ndim == 3 and scan.shape[0] == 2:
            scan = scan[1]
        a = to_attenuation(scan) if scan.dtype != np.float32 else scan
        f = _features(check_image(a, ndim=2, dtypes=None), size, cell).astype(np.float64)
        total = f if total is None else total + f
        total_sq = f**2 if total_sq is None else total_sq + f**2
        count += 1
    if count < 3:
        raise EmptyImageError(f"fit_normal needs at least 3 normal scans, got {count}")
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    std = np.maximum(std, min_std)
    return NormalModel(size, cell, mean.astype(np.float32), std.astype(np.float32), count)


def export_normal_model(model: NormalModel, path: str | os.PathLike) -> Path:
    """Write the model as an ONNX graph: input ``attenuation`` (1, 1, H, W) float32 at
    ``model.size``, output ``anomaly`` (1, 1, H/cell, W/cell) z-scores."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    h, w = model.size
    c = model.cell
    init = [
        numpy_helper.from_array(model.mean[0][None, None], "mu_mean"),
        numpy_helper.from_array(model.std[0][None, None], "sd_mean"),
        numpy_helper.from_array(model.mean[1][None, None], "mu_spread"),
        numpy_helper.from_array(model.std[1][None, None], "sd_spread"),
        numpy_helper.from_array(np.array(1e-6, np.float32), "eps"),
        numpy_helper.from_array(np.array(0.5, np.float32), "half"),
    ]
    pool = {"kernel_shape": [c, c], "strides": [c, c]}
    nodes = [
        helper.make_node("AveragePool", ["attenuation"], ["m"], **pool),
        helper.make_node("Mul", ["attenuation", "attenuation"], ["sq"]),
        helper.make_node("AveragePool", ["sq"], ["m2"], **pool),
        helper.make_node("Mul", ["m", "m"], ["m_sq"]),
        helper.make_node("Sub", ["m2", "m_sq"], ["var"]),
        helper.make_node("Relu", ["var"], ["var_pos"]),
        helper.make_node("Add", ["var_pos", "eps"], ["var_eps"]),
        helper.make_node("Sqrt", ["var_eps"], ["spread"]),
        helper.make_node("Sub", ["m", "mu_mean"], ["dm"]),
        helper.make_node("Div", ["dm", "sd_mean"], ["zm"]),
        helper.make_node("Sub", ["spread", "mu_spread"], ["ds"]),
        helper.make_node("Div", ["ds", "sd_spread"], ["zs"]),
        helper.make_node("Mul", ["zm", "zm"], ["zm2"]),
        helper.make_node("Mul", ["zs", "zs"], ["zs2"]),
        helper.make_node("Add", ["zm2", "zs2"], ["z2"]),
        helper.make_node("Mul", ["z2", "half"], ["z2h"]),
        helper.make_node("Sqrt", ["z2h"], ["anomaly"]),
    ]
    graph = helper.make_graph(
        nodes,
        "xray_normal",
        [helper.make_tensor_value_info("attenuation", TensorProto.FLOAT, [1, 1, h, w])],
        [helper.make_tensor_value_info("anomaly", TensorProto.FLOAT, [1, 1, h // c, w // c])],
        initializer=init,
    )
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx_model.ir_version = 8
    for key, value in (
        ("kind", MODEL_KIND),
        ("size", f"[{h}, {w}]"),
        ("cell", str(c)),
        ("normal_scans", str(model.count)),
    ):
        entry = onnx_model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(onnx_model)
    target = Path(path)
    from imaging._shared.atomic import atomic_write

    atomic_write(target, onnx_model.SerializeToString())
    return target


def anomaly_map(
    a: np.ndarray, model_path: str | os.PathLike, *, providers: str = "cpu"
) -> np.ndarray:
    """Anomaly z-score map of an attenuation image, at the image's size (float32)."""
    import cv2

    from imaging.runtime import get_session

    session = get_session(Path(model_path), providers=providers)
    meta = session.get_modelmeta().custom_metadata_map
    if meta.get("kind") != MODEL_KIND:
        raise ModelError(f"{model_path}: not a normal-content model made by fit-normal")
    shape = session.get_inputs()[0].shape
    h, w = int(shape[2]), int(shape[3])
    a = check_image(a, name="attenuation", ndim=2, dtypes=(np.float32, np.float64))
    resized = cv2.resize(a.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    z = session.run(None, {"attenuation": resized[None, None]})[0][0, 0]
    return cv2.resize(z, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_NEAREST).astype(
        np.float32
    )


def anomaly_flags(z: np.ndarray, *, threshold: float = 4.0, min_area_px: int = 50) -> list[Flag]:
    """Flag connected regions whose anomaly z-score exceeds ``threshold``."""
    import cv2

    mask = (np.nan_to_num(z) >= threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    flags = []
    for k in range(1, count):
        area = int(stats[k, cv2.CC_STAT_AREA])
        if area < min_area_px:
            continue
        x, y, w, h = (int(stats[k, i]) for i in range(4))
        peak = float(z[labels == k].max())
        flags.append(
            Flag(
                "anomaly",
                (x, y, x + w, y + h),
                float(np.clip(peak / (3 * threshold), 0, 1)),
                f"unlike the normal scans: {area} px, z-score up to {peak:.1f}",
                {"area_px": area, "max_z": round(peak, 2)},
            )
        )
    return flags

"""ONNX models: the registry of shipped models, verified sessions, and :class:`OnnxDetector`.

Shipped models live in the repository's ``models/<domain>/`` folder (installed as
``imaging.models``), each ONNX file with a JSON sidecar::

    {"name": "anpr-ocr", "file": "plate_ocr.onnx", "sha256": "...", "task": "ocr",
     "input_size": [32, 128], "input_layout": "NCHW", "color": "gray",
     "normalize": {"scale": 0.0039215686, "mean": [0.0], "std": [1.0]},
     "labels": [...], "output_layout": "ctc", "card": "plate_ocr.md", "description": "..."}

A session is created once per process for each model, providers and thread setting, and
reused; a shipped model's SHA-256 is checked before its first load. User models load only from
an explicit path.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from imaging._shared.errors import ModelError, ModelIntegrityError
from imaging._shared.validation import check_image
from imaging.results import Detections

__all__ = [
    "ModelSpec",
    "OnnxDetector",
    "available_providers",
    "clear_sessions",
    "get_session",
    "letterbox",
    "load_spec",
    "model_spec",
    "nms",
    "read_spec",
    "resolve_providers",
    "run_side_by_side",
    "sha256_file",
    "shipped_models",
    "side_by_side_workers",
    "verify_model",
]

_PROVIDER_ALIASES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "directml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
}
_AUTO_ORDER = [
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "OpenVINOExecutionProvider",
    "DmlExecutionProvider",
    "CoreMLExecutionProvider",
    "CPUExecutionProvider",
]


@dataclass(frozen=True)
class ModelSpec:
    """What the runtime knows of one model: where it is and how to feed and read it."""

    name: str
    path: Path
    sha256: str | None = None
    task: str = ""
    input_size: tuple[int, int] | None = None
    input_layout: str = "NCHW"
    color: str = "rgb"
    normalize: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    output_layout: str = ""
    card: Path | None = None
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def sha256_file(path: str | os.PathLike) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_spec(json_path: str | os.PathLike) -> ModelSpec:
    """Read a model's JSON sidecar into a :class:`ModelSpec` (paths made absolute)."""
    json_path = Path(json_path)
    try:
        raw = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{json_path}: unreadable model description ({exc})") from None
    if not isinstance(raw, dict) or "file" not in raw or "name" not in raw:
        raise ModelError(f"{json_path}: a model description needs 'name' and 'file'")
    known = {
        "name", "file", "sha256", "task", "input_size", "input_layout", "color", "normalize",
        "labels", "output_layout", "card", "description",
    }  # fmt: skip
    size = raw.get("input_size")
    return ModelSpec(
        name=str(raw["name"]),
        path=json_path.parent / str(raw["file"]),
        sha256=raw.get("sha256"),
        task=str(raw.get("task", "")),
        input_size=None if size is None else (int(size[0]), int(size[1])),
        input_layout=str(raw.get("input_layout", "NCHW")),
        color=str(raw.get("color", "rgb")),
        normalize=dict(raw.get("normalize", {})),
        labels=tuple(str(v) for v in raw.get("labels", ())),
        output_layout=str(raw.get("output_layout", "")),
        card=json_path.parent / raw["card"] if raw.get("card") else None,
        description=str(raw.get("description", "")),
        extra={k: v for k, v in raw.items() if k not in known},
    )


def _models_root() -> Path:
    return Path(str(resources.files("imaging.models")))


_registry_lock = threading.Lock()
_registry: dict[str, ModelSpec] | None = None


def shipped_models() -> dict[str, ModelSpec]:
    """The models shipped with the library, by name.

    Examples
    --------
    >>> specs = shipped_models()
    >>> all(spec.path.suffix == ".onnx" for spec in specs.values())
    True
    """
    global _registry
    with _registry_lock:
        if _registry is None:
            found: dict[str, ModelSpec] = {}
            root = _models_root()
            for json_path in sorted(root.glob("*/*.json")):
                try:
                    raw = json.loads(json_path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                if not (isinstance(raw, dict) and str(raw.get("file", "")).endswith(".onnx")):
                    continue
                spec = read_spec(json_path)
                if spec.name in found:
                    raise ModelError(f"two shipped models are named {spec.name!r}")
                found[spec.name] = spec
            _registry = found
        return dict(_registry)


def load_spec(name: str) -> ModelSpec:
    """Return the :class:`ModelSpec` of the shipped model ``name``.

    Raises
    ------
    ModelError
        If no shipped model has that name; the message lists the names there are.
    """
    specs = shipped_models()
    if name not in specs:
        known = ", ".join(sorted(specs)) or "none"
        raise ModelError(f"no shipped model named {name!r}; shipped: {known}")
    return specs[name]


def verify_model(model: str | ModelSpec) -> str:
    """Check a shipped model's file against its recorded SHA-256 and return the digest.

    Raises
    ------
    ModelIntegrityError
        If the file is missing, has no recorded digest, or its digest differs.
    """
    spec = load_spec(model) if isinstance(model, str) else model
    if not spec.path.is_file():
        raise ModelIntegrityError(f"model {spec.name!r}: file {spec.path} is missing")
    if not spec.sha256:
        raise ModelIntegrityError(f"model {spec.name!r}: no sha256 recorded in its description")
    actual = sha256_file(spec.path)
    if actual != spec.sha256.lower():
        raise ModelIntegrityError(
            f"model {spec.name!r}: {spec.path} has SHA-256 {actual}, expected {spec.sha256}; "
            "the file was altered or damaged: reinstall the package"
        )
    return actual


def available_providers() -> list[str]:
    """The execution providers this onnxruntime build offers."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


def resolve_providers(providers: str | Sequence[str] = "cpu") -> list[str]:
    """Turn ``"cpu"``, ``"auto"``, an alias (``"cuda"``, ``"openvino"``...) or a list of
    onnxruntime provider names into the explicit list a session is created with.

    ``"auto"`` takes the available providers in order of speed, CPU last.

    Examples
    --------
    >>> resolve_providers("cpu")
    ['CPUExecutionProvider']
    """
    available = available_providers()
    if isinstance(providers, str):
        key = providers.lower()
        if key == "auto":
            return [p for p in _AUTO_ORDER if p in available] or ["CPUExecutionProvider"]
        providers = [providers]
    names = [_PROVIDER_ALIASES.get(p.lower(), p) for p in providers]
    missing = [p for p in names if p not in available]
    if missing:
        raise ModelError(
            f"execution provider(s) {', '.join(missing)} not available in this onnxruntime; "
            f"available: {', '.join(available)}"
        )
    return names


_sessions: dict[tuple, Any] = {}
_sessions_lock = threading.Lock()


def _default_threads() -> int | None:
    value = os.environ.get("IMAGING_THREADS")
    return int(value) if value else None


def _spinning_allowed() -> bool:
    return os.environ.get("IMAGING_ORT_SPINNING", "0").strip().lower() in ("1", "true", "yes")


def get_session(
    model: str | os.PathLike | ModelSpec,
    *,
    providers: str | Sequence[str] = "cpu",
    intra_op_threads: int | None = None,
    inter_op_threads: int | None = None,
    sha256: str | None = None,
) -> Any:
    """Return the onnxruntime session of a model, created on first use and then reused.

    Parameters
    ----------
    model : str, path or ModelSpec
        A shipped model's name (its SHA-256 is checked before the first load), or the path of
        a user's ``.onnx`` file (a string containing a path separator or ending in ``.onnx``).
    providers : str or sequence of str
        ``"cpu"`` (default), ``"auto"``, an alias or explicit onnxruntime provider names.
    intra_op_threads, inter_op_threads : int, optional
        Thread counts; default ``$IMAGING_THREADS`` or onnxruntime's own choice.
    sha256 : str, optional
        For a user model: refuse it unless its file has this digest.

    Raises
    ------
    ModelError, ModelIntegrityError

    Notes
    -----
    The sessions' worker threads sleep when a run ends instead of spinning for the next one
    (``IMAGING_ORT_SPINNING=1`` lets them spin): every session has its own pool, and on a
    small machine the spinning workers of one model take the cores from the next model and
    from OpenCV and numpy between the runs. On 2 cores the plate analyzer (detector, then
    OCR) went from 18-20 to 22-26 photographs per second; a single model run back to back
    loses a little (``benchmarks/README.md``).
    """
    intra = _default_threads() if intra_op_threads is None else intra_op_threads
    spinning = _spinning_allowed()
    # the arguments as given: a model asked for again (each plate analyzer call asks three)
    # skips resolving its path and providers
    given = (
        "given",
        (model.name, str(model.path), model.sha256)
        if isinstance(model, ModelSpec)
        else os.fspath(model),
        providers if isinstance(providers, str) else tuple(providers),
        intra,
        inter_op_threads,
        sha256,
        spinning,
    )
    session = _sessions.get(given)
    if session is not None:
        return session
    spec = model_spec(model)
    chosen = tuple(resolve_providers(providers))
    key = (
        str(spec.path.resolve()),
        chosen,
        intra,
        inter_op_threads,
        sha256 or spec.sha256,
        spinning,
    )
    with _sessions_lock:
        session = _sessions.get(key)
        if session is not None:
            _sessions[given] = session
            return session
        expected = sha256 or spec.sha256
        if spec.sha256 is not None or sha256 is not None:
            verify_model(ModelSpec(name=spec.name, path=spec.path, sha256=expected))
        elif not spec.path.is_file():
            raise ModelError(f"model file {spec.path} does not exist")
        import onnxruntime as ort

        options = ort.SessionOptions()
        if intra:
            options.intra_op_num_threads = int(intra)
        if inter_op_threads:
            options.inter_op_num_threads = int(inter_op_threads)
        options.log_severity_level = 3
        if not spinning:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        try:
            session = ort.InferenceSession(
                str(spec.path), sess_options=options, providers=list(chosen)
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"{spec.path}: not a loadable ONNX model ({exc})") from None
        _sessions[key] = _sessions[given] = session
        return session


def run_side_by_side(
    model: str | os.PathLike | ModelSpec,
    jobs: Sequence[Any],
    run: Callable[[Any, Any], Any],
    *,
    providers: str | Sequence[str] = "cpu",
) -> list[Any]:
    """``[run(session, job) for job in jobs]``, the jobs side by side on the CPU's cores.

    A small model's run keeps two cores only partly busy (a 416-pixel pass of the plate
    detector: 6.4 ms on 2 threads, 4.8 ms a pass when two single-threaded runs go at once),
    so on the CPU provider two or more jobs run at once, each on one thread of one shared
    single-threaded session (onnxruntime releases the GIL while it runs); a single job, or
    any job on another provider, runs on the model's usual session. The threads are
    ``$IMAGING_THREADS`` or the machine's cores, at most one per job. The results are those
    of running the jobs one after the other.

    Examples
    --------
    >>> import numpy as np
    >>> views = np.zeros((3, 1, 32, 128), np.float32)
    >>> out = run_side_by_side(
    ...     "anpr-ocr", [views[:2], views[2:]], lambda s, x: s.run(None, {"images": x})[0]
    ... )
    >>> [o.shape[0] for o in out]
    [2, 1]
    """
    workers = side_by_side_workers(len(jobs), providers)
    if not workers:
        session = get_session(model, providers=providers)
        return [run(session, job) for job in jobs]
    session = get_session(model, providers=providers, intra_op_threads=1)
    return list(_thread_pool(workers).map(lambda job: run(session, job), jobs))


def side_by_side_workers(jobs: int, providers: str | Sequence[str] = "cpu") -> int:
    """Threads :func:`run_side_by_side` gives ``jobs`` jobs (0: it runs them one by one).

    Examples
    --------
    >>> side_by_side_workers(1)
    0
    >>> side_by_side_workers(3, "cuda") if "CUDAExecutionProvider" in available_providers() else 0
    0
    """
    if jobs < 2:
        return 0
    if not (
        (isinstance(providers, str) and providers.lower() == "cpu")
        or list(providers) == ["CPUExecutionProvider"]
    ):
        return 0
    cores = _default_threads() or os.cpu_count() or 1
    return min(jobs, cores) if cores > 1 else 0


_thread_pools: dict[int, ThreadPoolExecutor] = {}


def _thread_pool(workers: int) -> ThreadPoolExecutor:
    with _sessions_lock:
        pool = _thread_pools.get(workers)
        if pool is None:
            pool = _thread_pools[workers] = ThreadPoolExecutor(
                workers, thread_name_prefix="imaging-onnx"
            )
        return pool


def clear_sessions() -> None:
    """Drop every cached session (they are rebuilt, and re-verified, on next use)."""
    global _registry
    with _sessions_lock:
        _sessions.clear()
    with _registry_lock:
        _registry = None


def model_spec(model: str | os.PathLike | ModelSpec) -> ModelSpec:
    """The :class:`ModelSpec` of a shipped model name, a user model's path, or a spec.

    A string is a path when it contains a path separator or ends in ``.onnx``; the file must
    exist. Otherwise it names a shipped model.
    """
    if isinstance(model, ModelSpec):
        return model
    text = os.fspath(model)
    if isinstance(model, os.PathLike) or os.sep in text or text.endswith(".onnx"):
        path = Path(text)
        if not path.is_file():
            raise ModelError(f"model file {path} does not exist")
        return ModelSpec(name=path.stem, path=path)
    return load_spec(text)


# --- detection ------------------------------------------------------------------------------


def letterbox(
    image: np.ndarray, size: tuple[int, int], *, fill: int = 114, zoom: float = 1.0
) -> tuple[np.ndarray, float, tuple[float, float]]:
    """Resize ``image`` to fit ``size`` = (H, W) keeping its aspect ratio, padded centrally.

    ``zoom`` < 1 fits it into that fraction of ``size`` instead, in its middle (a detector
    then sees large objects at the size it was trained on).

    Returns
    -------
    padded : ndarray
        Same dtype and channel count as ``image``, shape ``size``.
    scale : float
        Factor applied to the image.
    pad : (float, float)
        Left and top padding in pixels: ``model_xy = image_xy * scale + pad``.

    Examples
    --------
    >>> import numpy as np
    >>> out, scale, pad = letterbox(np.zeros((100, 200, 3), np.uint8), (64, 64))
    >>> out.shape, scale, pad
    ((64, 64, 3), 0.32, (0.0, 16.0))
    """
    import cv2

    h, w = image.shape[:2]
    th, tw = size
    ih, iw = max(1, round(th * zoom)), max(1, round(tw * zoom))  # the part filled
    scale = min(ih / h, iw / w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    resized = image
    if (nh, nw) != (h, w):
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(image, (nw, nh), interpolation=interp)
        if image.ndim == 3 and resized.ndim == 2:
            resized = resized[..., None]
    top = (th - ih) // 2 + (ih - nh) // 2
    left = (tw - iw) // 2 + (iw - nw) // 2
    out = np.full((th, tw, *image.shape[2:]), fill, dtype=image.dtype)
    out[top : top + nh, left : left + nw] = resized
    return out, scale, (float(left), float(top))


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices, best score first.

    Examples
    --------
    >>> import numpy as np
    >>> nms(np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], np.float32),
    ...     np.array([0.9, 0.8, 0.7], np.float32), 0.5).tolist()
    [0, 2]
    """
    order = np.argsort(-scores, kind="stable")
    x0, y0, x1, y1 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = np.maximum(x1 - x0, 0) * np.maximum(y1 - y0, 0)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        iw = np.maximum(0, np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]))
        ih = np.maximum(0, np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]))
        inter = iw * ih
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def _parse_names(value: str) -> list[str] | None:
    try:
        parsed = json.loads(value)
    except ValueError:
        try:
            parsed = ast.literal_eval(value)  # ultralytics writes str(dict): "{0: 'gun'}"
        except (ValueError, SyntaxError):
            return None
    if isinstance(parsed, dict):
        try:
            return [str(parsed[k]) for k in sorted(parsed, key=int)]
        except (TypeError, ValueError):
            return None
    if isinstance(parsed, (list, tuple)):
        return [str(v) for v in parsed]
    return None


def _parse_size(value: str) -> tuple[int, int] | None:
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return None
    if isinstance(parsed, int):
        return (parsed, parsed)
    if isinstance(parsed, (list, tuple)) and len(parsed) == 2:
        return (int(parsed[0]), int(parsed[1]))
    return None


class OnnxDetector:
    """Run an object detector exported from the usual YOLO tool chains; return ``Detections``.

    Accepted output layouts (``layout="auto"`` tells them apart by shape and metadata):

    - ``"yolov8"``: (1, 4+C, N), rows cx, cy, w, h then C class scores (Ultralytics v8–v11);
    - ``"yolov5"``: (1, N, 5+C), cx, cy, w, h, objectness, C class scores (YOLOv5/v7, and
      (1, N, 4+1+C) exports of other tool chains);
    - ``"end2end"``: (1, N, 6), x0, y0, x1, y1, score, class, NMS done inside the model
      (YOLOv10, ``nms=True`` exports); chosen by ``auto`` only when the metadata says
      ``end2end``.

    Class names come from the model's metadata (``names``, as Ultralytics writes it), else from
    ``class_names``, else the ids. The input size comes from the model's input shape, else
    the ``imgsz`` metadata, else 640. Pixels are letterboxed, RGB, scaled to [0, 1].

    Parameters
    ----------
    model : str, path or ModelSpec
        A user model's path (explicit) or a shipped model's name.
    class_names : sequence of str, optional
        Names when the model carries none.
    conf_threshold : float
        Minimum score kept.
    iou_threshold : float
        NMS overlap threshold (per class unless ``class_agnostic``).
    max_detections : int
        At most this many boxes per image, best first.
    providers, intra_op_threads, sha256
        As for :func:`get_session`.

    Examples
    --------
    >>> detector = OnnxDetector("site_threats.onnx")  # doctest: +SKIP
    >>> dets = detector(image)  # doctest: +SKIP
    >>> dets[dets.confidence > 0.5].data["label"]  # doctest: +SKIP
    """

    def __init__(
        self,
        model: str | os.PathLike | ModelSpec,
        *,
        class_names: Sequence[str] | None = None,
        conf_threshold: float = 0.25,
        iou_threshold: float = 0.45,
        max_detections: int = 300,
        class_agnostic: bool = False,
        layout: str = "auto",
        providers: str | Sequence[str] = "cpu",
        intra_op_threads: int | None = None,
        sha256: str | None = None,
    ) -> None:
        if not 0.0 <= conf_threshold <= 1.0 or not 0.0 <= iou_threshold <= 1.0:
            raise ValueError("conf_threshold and iou_threshold must lie in [0, 1]")
        if layout not in ("auto", "yolov8", "yolov5", "end2end"):
            raise ValueError(f"layout must be auto, yolov8, yolov5 or end2end, got {layout!r}")
        self.spec = model_spec(model)
        self.session = get_session(
            self.spec, providers=providers, intra_op_threads=intra_op_threads, sha256=sha256
        )
        self.sha256 = (sha256 or self.spec.sha256 or sha256_file(self.spec.path)).lower()
        self.name = self.spec.name
        self.conf_threshold = float(conf_threshold)
        self.iou_threshold = float(iou_threshold)
        self.max_detections = int(max_detections)
        self.class_agnostic = bool(class_agnostic)

        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ModelError(
                f"{self.spec.path}: a detector takes one input, this one has {len(inputs)}"
            )
        self.input_name = inputs[0].name
        shape = inputs[0].shape
        if len(shape) != 4:
            raise ModelError(f"{self.spec.path}: expected an NCHW image input, got shape {shape}")
        self.channels = shape[1] if isinstance(shape[1], int) else 3
        self.input_dtype = np.float16 if "float16" in inputs[0].type else np.float32
        meta = self.session.get_modelmeta().custom_metadata_map
        size = None
        if isinstance(shape[2], int) and isinstance(shape[3], int):
            size = (shape[2], shape[3])
        elif "imgsz" in meta:
            size = _parse_size(meta["imgsz"])
        self.input_size = size or self.spec.input_size or (640, 640)

        names = _parse_names(meta["names"]) if "names" in meta else None
        self.class_names = tuple(names or class_names or self.spec.labels or ())
        end2end = str(meta.get("end2end", "")).lower() in ("true", "1")
        self.layout = "end2end" if layout == "auto" and end2end else layout

    def __call__(self, image: np.ndarray) -> Detections:
        """Detect objects in one image (H, W), (H, W, 3) or (H, W, 4); see the class doc."""
        return self.detect(image)

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, float, tuple[float, float]]:
        """Letterbox and normalise ``image`` into the model's (1, C, H, W) input tensor."""
        image = check_image(image, dtypes=None)
        if image.ndim == 3 and image.shape[2] == 4:
            image = image[..., :3]
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[..., 0]
        if image.dtype == np.uint8:
            scaled = image
            maximum = 255.0
        elif np.issubdtype(image.dtype, np.integer):
            maximum = float(np.iinfo(image.dtype).max)
            scaled = image.astype(np.float32)
        else:
            maximum = 1.0
            scaled = np.nan_to_num(image.astype(np.float32), nan=0.0)
        fill = 114 if image.dtype == np.uint8 else 114.0 / 255.0 * maximum
        boxed, scale, pad = letterbox(scaled, self.input_size, fill=fill)
        tensor = boxed.astype(np.float32) / np.float32(maximum)
        if tensor.ndim == 2:
            tensor = np.repeat(tensor[..., None], self.channels, axis=2)
        elif self.channels == 1:
            tensor = tensor.mean(axis=2, keepdims=True)
        tensor = np.ascontiguousarray(tensor.transpose(2, 0, 1)[None]).astype(self.input_dtype)
        return tensor, scale, pad

    def detect(self, image: np.ndarray) -> Detections:
        """Detect objects in one image; boxes are in the input image's pixels."""
        tensor, scale, pad = self.preprocess(image)
        outputs = self.session.run(None, {self.input_name: tensor})
        boxes, scores, classes = self._decode(np.asarray(outputs[0], dtype=np.float32))
        keep = scores >= self.conf_threshold
        boxes, scores, classes = boxes[keep], scores[keep], classes[keep]
        if self.layout != "end2end" and len(boxes):
            offset = 0 if self.class_agnostic else classes[:, None] * (max(self.input_size) + 1)
            kept = nms(boxes + offset, scores, self.iou_threshold)
            boxes, scores, classes = boxes[kept], scores[kept], classes[kept]
        order = np.argsort(-scores, kind="stable")[: self.max_detections]
        boxes, scores, classes = boxes[order], scores[order], classes[order]
        h, w = image.shape[:2]
        boxes = (boxes - np.array([pad[0], pad[1], pad[0], pad[1]], np.float32)) / scale
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        labels = [
            self.class_names[c] if 0 <= c < len(self.class_names) else str(c)
            for c in classes.tolist()
        ]
        return Detections(
            boxes,
            confidence=np.clip(scores, 0, 1),
            class_id=classes,
            data={"label": np.array(labels, dtype=str)},
        )

    def _guess_layout(self, shape: tuple[int, ...]) -> str:
        rows, cols = shape
        possible = {"yolov8": rows >= 5, "yolov5": cols >= 6}
        if self.class_names:
            c = len(self.class_names)
            possible = {"yolov8": rows == 4 + c, "yolov5": cols == 5 + c}
        matches = [name for name, ok in possible.items() if ok]
        if len(matches) == 1:
            return matches[0]
        if not matches and self.class_names:
            raise ModelError(
                f"{self.spec.path}: output shape {shape} fits neither (4+C, N) nor (N, 5+C) "
                f"with the {len(self.class_names)} class names known"
            )
        return "yolov8" if rows < cols else "yolov5"

    def _decode(self, out: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if out.ndim == 3:
            if out.shape[0] != 1:
                raise ModelError(f"{self.spec.path}: expected a batch of 1, got {out.shape}")
            out = out[0]
        if out.ndim != 2:
            raise ModelError(f"{self.spec.path}: unexpected output shape {out.shape}")
        layout = self.layout if self.layout != "auto" else self._guess_layout(out.shape)
        if layout == "yolov8":
            rows = out.T
            if rows.shape[1] < 5:
                raise ModelError(f"{self.spec.path}: (1, 4+C, N) output with C<1: {out.shape}")
            class_scores = rows[:, 4:]
        elif layout == "yolov5":
            rows = out
            if rows.shape[1] < 6:
                raise ModelError(f"{self.spec.path}: (1, N, 5+C) output with C<1: {out.shape}")
            class_scores = rows[:, 5:] * rows[:, 4:5]
        else:
            if out.shape[1] < 6:
                raise ModelError(f"{self.spec.path}: end2end output needs 6 columns: {out.shape}")
            boxes = np.ascontiguousarray(out[:, :4])
            boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2])
            return boxes, out[:, 4].copy(), out[:, 5].astype(np.int64)
        if self.class_names and class_scores.shape[1] != len(self.class_names):
            raise ModelError(
                f"{self.spec.path}: the output has {class_scores.shape[1]} classes but "
                f"{len(self.class_names)} class names are known"
            )
        classes = class_scores.argmax(axis=1)
        scores = class_scores[np.arange(len(classes)), classes]
        cx, cy, bw, bh = rows[:, 0], rows[:, 1], np.abs(rows[:, 2]), np.abs(rows[:, 3])
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
        return boxes.astype(np.float32), scores.astype(np.float32), classes.astype(np.int64)

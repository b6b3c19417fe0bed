"""Batch processing of archives: :func:`run_batch` over a folder, locally or on Dask.

Examples
--------
>>> from imaging.batch import run_batch
>>> summary = run_batch("archive/", "out/", modality="xray", workers=2)  # doctest: +SKIP
"""

from imaging.batch.run import DEFAULT_INCLUDE, BatchError, BatchSummary, iter_inputs, run_batch
from imaging.batch.store import BatchStoreError, ResultStore

__all__ = [
    "DEFAULT_INCLUDE",
    "BatchError",
    "BatchStoreError",
    "BatchSummary",
    "ResultStore",
    "iter_inputs",
    "run_batch",
]

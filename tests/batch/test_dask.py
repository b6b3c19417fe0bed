import json

import pytest

from imaging.batch import run_batch

MODALITY = "batch_analyzers:SlowMean"

distributed = pytest.importorskip("distributed")


def test_dask_cluster_gives_the_same_results_as_a_local_run(tmp_path):
    from batch_analyzers import make_inputs

    make_inputs(tmp_path / "in", n=6)
    run_batch(tmp_path / "in", tmp_path / "local", modality=MODALITY, workers=1)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        summary = run_batch(
            tmp_path / "in",
            tmp_path / "dask",
            modality=MODALITY,
            scheduler=cluster.scheduler_address,
        )
    assert (summary.processed, summary.failed) == (6, 0)

    def load(name):
        lines = (tmp_path / name / "results.jsonl").read_text().splitlines()
        return [{k: v for k, v in json.loads(x).items() if k != "timings_ms"} for x in lines]

    assert load("local") == load("dask")

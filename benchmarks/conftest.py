"""Speed is reported as ratios against a peer measured in the same run.

In each benchmark group the test whose name contains ``peer`` is the reference; the summary
printed at the end gives ``peer median / ours median`` for every other test of the group
(above 1: we are faster) and merges them into ``benchmarks/.ratios.json``.
"""

from __future__ import annotations

import json
from pathlib import Path


def _median(bench) -> float | None:
    stats = getattr(bench, "stats", None)
    inner = getattr(stats, "stats", stats)
    return getattr(inner, "median", None)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    groups: dict[str, list] = {}
    for bench in session.benchmarks:
        groups.setdefault(bench.group or bench.name, []).append(bench)
    ratios = {}
    lines = []
    for group, benches in sorted(groups.items()):
        peers = [b for b in benches if "peer" in b.name]
        if not peers or _median(peers[0]) is None:
            continue
        peer = peers[0]
        for bench in benches:
            if bench is peer or _median(bench) is None:
                continue
            ratio = _median(peer) / _median(bench)
            ratios[f"{group}: {bench.name} vs {peer.name}"] = round(ratio, 3)
            lines.append(
                f"{group:28s} {bench.name:44s} {_median(bench) * 1e3:9.3f} ms  "
                f"peer {_median(peer) * 1e3:9.3f} ms  speed ratio {ratio:6.2f}x"
            )
    if lines:
        terminalreporter.section("speed ratios (peer median / ours median; >1 = faster)")
        for line in lines:
            terminalreporter.write_line(line)
        out = Path(__file__).with_name(".ratios.json")
        try:
            merged = json.loads(out.read_text()) if out.exists() else {}
        except ValueError:
            merged = {}
        merged.update(ratios)  # a partial run keeps the figures of the other suites
        out.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")

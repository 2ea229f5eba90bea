"""The benchmark's own set-up, so a change to render's inputs cannot break `make bench` unseen (the timings
themselves are the benchmark's, never a test's): the kustomize directory it builds for one branch location is
accepted by real `kubectl kustomize`, with the location's Deployment and the patched workspace in its output."""

import os
import pathlib
import runpy
import subprocess

from conftest import tool

BENCH = pathlib.Path(__file__).resolve().parents[1] / "bin" / "bench"


def test_the_benchmark_builds_its_kustomize_comparison(tmp_path):
    bench = runpy.run_path(str(BENCH), run_name="bench")
    locations = tmp_path / "locations.yaml"
    locations.write_text(bench["locations_file"](1))
    directory = bench["kustomize_dir"](tmp_path, 1, str(locations))
    built = subprocess.run(
        [tool("kubectl"), "kustomize", str(directory)], capture_output=True, text=True, env=dict(os.environ)
    )
    assert built.returncode == 0, built.stderr
    assert "kind: Deployment" in built.stdout and "location_name: feature-bench-0000" in built.stdout

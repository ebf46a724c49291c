"""benchmarks/: every script runs in its smoke form and reports what it says it reports.

Speed is never asserted here (it is noisy and lives in benchmarks/RESULTS.md); these
tests check that the benchmark code runs end to end on a CPU in seconds, and that
run_all turns the scripts' summary lines into its table.
"""
import importlib.util
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # puts benchmarks/ on sys.path for its helpers
    return module


def _summaries(text):
    common = sys.modules.get("_common") or _load("_common")
    return common.parse_summaries(text)


def test_bench_augment_smoke(capsys):
    results = _load("bench_augment").main(["--smoke"])
    (best,) = results.values()
    assert set(best) == {"ours", "ours-random", "lightly", "v2"}
    assert all(r["views_per_s"] > 0 and r["peak_rss_mib"] > 0 for r in best.values())
    rows = _summaries(capsys.readouterr().out)
    figures = [r["figure"] for r in rows]
    assert any("vs lightly" in f for f in figures) and any("vs v2" in f for f in figures)
    # the printed figures are the measured ones, each against the method its name says
    views = {r["figure"].rsplit(" vs ", 1)[1]: r for r in rows if r["unit"] == "views/s"}
    assert set(views) == {"lightly", "v2"}
    for alt, r in views.items():
        assert (r["ours"], r["alternative"]) == (best["ours"]["views_per_s"], best[alt]["views_per_s"])
    (rss,) = [r for r in rows if r["unit"] == "MiB"]
    assert rss["alternative"] == best["lightly"]["peak_rss_mib"] and rss["target"] == "reported"


def test_bench_train_smoke(capsys):
    best = _load("bench_train").main(["--smoke"])
    phases = _load("_pipelines").PHASES
    assert set(best) == {"ours", "lightly-0w"}
    for r in best.values():
        assert r["images_per_s"] > 0 and set(r["phases"]) == set(phases)
        assert all(t >= 0 for t in r["phases"].values())
    out = capsys.readouterr().out
    assert "Where the time goes" in out
    (throughput,) = [r for r in _summaries(out) if r["unit"] == "images/s"]
    assert throughput["target"] == ">= 2x"
    assert (throughput["ours"], throughput["alternative"]) == (best["ours"]["images_per_s"],
                                                               best["lightly-0w"]["images_per_s"])


def test_bench_gpu_epoch_smoke_and_cpu_message(capsys):
    gpu = _load("bench_gpu_epoch")
    results = gpu.main(["--smoke"])
    assert set(results) == {"ours", "dataloader"}
    for r in results.values():
        assert r["epoch_s"] > 0 and r["tflops"] > 0 and r["views_per_epoch"] == 2 * 2 * 8
    assert gpu.train_flops_per_view(8, torch.device("cpu")) > 0
    if not torch.cuda.is_available():
        capsys.readouterr()
        assert gpu.main([]) == {}
        out = capsys.readouterr().out
        assert "needs a CUDA GPU" in out and "python benchmarks/bench_gpu_epoch.py" in out


def test_label_efficiency_tables_each_method_against_supervised(monkeypatch, capsys, tmp_path):
    """The plumbing, with the recipes replaced by fixed accuracies (the real run takes minutes)."""
    bench = _load("label_efficiency")
    pretrained = torch.nn.Identity()
    monkeypatch.setattr(bench, "pretrain_simclr",
                        lambda train, **kw: (type("Net", (), {"encoder": pretrained})(), None))
    monkeypatch.setattr(bench, "label_efficiency",
                        lambda encoder, train, test, fractions, seed:
                        {f: 0.5 if encoder is pretrained else 0.2 for f in fractions})
    monkeypatch.setattr(bench, "train_supervised",
                        lambda subset, test, encoder="small", seed=0: 0.9 if encoder is pretrained else 0.8)
    runs = bench.main(["--profile", "grading", "--datasets", "digits", "--seeds", "2",
                       "--out", str(tmp_path / "le.json")])
    assert [set(run) for run in runs["digits"]] == [set(bench.METHODS)] * 2
    out = capsys.readouterr().out
    table = [[cell.strip() for cell in line.split("|")[1:-1]]
             for line in out.splitlines() if line.startswith("| digits")]
    assert [row[2:6] for row in table] == [["50.0 +- 0.0", "90.0 +- 0.0", "20.0 +- 0.0", "80.0 +- 0.0"]] * 3
    rows = {r["figure"]: r for r in _summaries(out)}
    for fraction in ("1%", "10%"):
        probe = rows[f"label efficiency, digits, {fraction} labels: SimCLR probe vs supervised (%)"]
        tuned = rows[f"label efficiency, digits, {fraction} labels: SimCLR fine-tuned vs supervised (%)"]
        assert (probe["ours"], probe["alternative"]) == pytest.approx((50, 80))
        assert (tuned["ours"], tuned["alternative"]) == pytest.approx((90, 80))
    assert (tmp_path / "le.json").exists()


def test_peak_tflops_prefers_the_specific_name(monkeypatch):
    gpu = _load("bench_gpu_epoch")
    lookup = dict(gpu.PEAK_TFLOPS)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    peaks = []
    for name in ("NVIDIA H100 PCIe", "NVIDIA H100 80GB HBM3", "NVIDIA A10G", "Tesla T4", "Some New GPU"):
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0, name=name: name)
        peaks.append(gpu._peak_tflops(None))
    assert peaks == [lookup["H100 PCIe"], lookup["H100"], lookup["A10G"], lookup["T4"], None]
    assert gpu._peak_tflops(123.0) == 123.0  # --peak-tflops wins over the table


def test_run_all_tables_summaries_and_scripts_without_them():
    run_all = _load("run_all")
    common = sys.modules["_common"]
    text = "noise\n" + common.SUMMARY_TAG + (
        '{"figure": "f", "ours": 30.0, "alternative": 1.5, "unit": "views/s", "ratio": 20.0, '
        '"target": ">= 20x"}\n')
    expected = [["f", "views/s", "30", "1.5", "20.0x", ">= 20x"]]
    assert run_all.table_rows("bench_x.py", text, 0, 1.0) == expected
    (row,) = run_all.table_rows("bench_y.py", "no rows", 0, 3.0)
    assert row[0].startswith("bench_y.py: no summary rows")
    assert run_all.table_rows("bench_x.py", text, "timed out", 9.0)[-1][0].startswith(
        "bench_x.py: exit status timed out")
    assert list(run_all.scripts([], False)) == ["bench_augment.py", "bench_train.py", "bench_gpu_epoch.py"]
    every = run_all.scripts([], True)
    assert {p.name for p in BENCH.glob("bench_*.py")} <= set(every)
    with pytest.raises(ValueError, match="names"):
        run_all.scripts(["no_such_bench.py"], False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="with CUDA this would run the whole GPU benchmark")
def test_run_all_runs_a_script_and_prints_the_table(capsys):
    run_all = _load("run_all")
    assert run_all.main(["bench_gpu_epoch.py", "--budget", "120"]) == 0
    out = capsys.readouterr().out
    assert "=== summary" in out and "| figure" in out and "GPU epoch" in out

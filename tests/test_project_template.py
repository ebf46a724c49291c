"""project_template/: the write-up compiles, the checkers pass the template and name each
problem of a broken one, and the experiment starter writes (and resumes) its results.

Every test works on a copy of the template in a temporary folder. The LaTeX tests need
latexmk (``make test`` installs it with ``project_template/tools/install_tex.sh``).
"""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import statistics
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parent.parent / "project_template"
TOOLS = TEMPLATE / "tools"
LIMIT_MESSAGE = "the limit is 4 pages (excluding references and the contributions statement)"
needs_tex = pytest.mark.skipif(
    shutil.which("latexmk") is None,
    reason="latexmk not found: `make test` installs TeX Live first (project_template/tools/install_tex.sh)")


def load(path: Path):
    """Import a module of the template by its path."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copy_template(dest: Path) -> Path:
    shutil.copytree(TEMPLATE, dest, ignore=shutil.ignore_patterns(
        "results", "runs", "__pycache__", "*.zip", "main.pdf", "*.aux", "*.log", "*.bbl", "*.blg", "*.fls",
        "*.fdb_latexmk", "*.out", "*.synctex.gz"))
    return dest


def run_tool(script: str, *args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def check_writeup(folder: Path) -> subprocess.CompletedProcess:
    return run_tool(TOOLS / "check_writeup.py", folder / "main.tex")


def recorded_pages(folder: Path) -> int:
    """Pages of the body as \\bodyend recorded them in main.aux."""
    return int(re.search(r"\\sslbodypages\{(\d+)\}", (folder / "main.aux").read_text()).group(1))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """The untouched template, compiled and checked once."""
    folder = copy_template(tmp_path_factory.mktemp("writeup") / "project")
    return folder, check_writeup(folder)


# --- the write-up ---------------------------------------------------------------------

@needs_tex
def test_untouched_template_compiles_and_passes(compiled):
    folder, result = compiled
    assert result.returncode == 0, result.stderr
    assert (folder / "main.pdf").stat().st_size > 10_000
    pages = recorded_pages(folder)
    assert 1 <= pages <= 4
    assert f"OK: the body takes {pages} of 4 pages" in result.stdout
    log = (folder / "main.log").read_text(errors="replace")
    assert "undefined" not in log.lower()  # every citation and reference resolves
    assert "results/table.tex" not in log  # no results yet: placeholder boxes instead


def pad_body(folder: Path, extra_pages: int) -> None:
    """Add ``extra_pages`` pages to the body, the last one holding a single line."""
    with open(folder / "sections" / "conclusion.tex", "a") as f:
        f.write("\n" + "\\clearpage\nOne more line of the body.\n" * extra_pages)


@needs_tex
@pytest.mark.parametrize("body_pages", [4, 5])
def test_page_limit_counts_a_partly_filled_page(compiled, tmp_path, body_pages):
    folder = copy_template(tmp_path / "project")
    pad_body(folder, body_pages - recorded_pages(compiled[0]))
    result = check_writeup(folder)
    assert recorded_pages(folder) == body_pages
    if body_pages == 4:
        assert result.returncode == 0, result.stderr
        assert "OK: the body takes 4 of 4 pages" in result.stdout
    else:
        assert result.returncode == 1
        assert f"the body runs to 5 pages; {LIMIT_MESSAGE}" in result.stderr
        assert "The body runs to 5 pages" in (folder / "main.log").read_text(errors="replace")  # Overleaf


@needs_tex
def test_long_text_fails_and_references_do_not_count(tmp_path):
    folder = copy_template(tmp_path / "project")
    sentence = "Self-supervised learning makes two views of an image agree in representation space. "
    with open(folder / "sections" / "experiments.tex", "a") as f:
        f.write("\n\n".join(sentence * 8 for _ in range(45)))
    result = check_writeup(folder)
    assert result.returncode == 1
    assert re.search(rf"the body runs to ([5-9]|1\d) pages; {re.escape(LIMIT_MESSAGE)}", result.stderr)

    # The same text after \bodyend (e.g. in the contributions statement) does not count.
    folder = copy_template(tmp_path / "after")
    with open(folder / "sections" / "contributions.tex", "a") as f:
        f.write("\n\n".join(sentence * 8 for _ in range(45)))
    assert check_writeup(folder).returncode == 0


@needs_tex
def test_changed_format_and_missing_marker_fail(tmp_path):
    folder = copy_template(tmp_path / "margins")
    main = folder / "main.tex"
    tighter = "\\usepackage{sslproject}\n\\geometry{margin=1cm}"
    main.write_text(main.read_text().replace("\\usepackage{sslproject}", tighter))
    result = check_writeup(folder)
    assert result.returncode == 1 and "the format was changed" in result.stderr

    folder = copy_template(tmp_path / "marker")
    main = folder / "main.tex"
    main.write_text(main.read_text().replace("\\bodyend", ""))
    result = check_writeup(folder)
    assert result.returncode == 1 and "keep \\bodyend in main.tex" in result.stderr


@needs_tex
def test_latex_error_is_reported_with_its_line(tmp_path):
    folder = copy_template(tmp_path / "project")
    with open(folder / "sections" / "method.tex", "a") as f:
        f.write("\n\\undefinedcommand\n")
    result = check_writeup(folder)
    assert result.returncode == 1
    assert "LaTeX failed" in result.stderr and "method.tex" in result.stderr
    assert "Undefined control sequence" in result.stderr


@needs_tex
def test_make_check_and_overleaf_zip(tmp_path):
    folder = copy_template(tmp_path / "project")
    make = subprocess.run(["make", "-C", str(folder), "check", f"PYTHON={sys.executable}"],
                          capture_output=True, text=True)
    assert make.returncode == 0, make.stdout + make.stderr
    assert "main.tex: OK" in make.stdout and "proposal.md: OK" in make.stdout

    (folder / "proposal.md").write_text("# Project proposal: x\n")
    make = subprocess.run(["make", "-C", str(folder), "check", f"PYTHON={sys.executable}"],
                          capture_output=True, text=True)
    assert make.returncode != 0 and "section 'Motivation' is missing" in make.stderr

    # The zip holds what compiling needs, and compiles on its own (as after an Overleaf upload).
    assert run_tool(folder / "tools" / "make_zip.py").returncode == 0
    with zipfile.ZipFile(folder / "writeup.zip") as archive:
        names = set(archive.namelist())
        assert {"main.tex", "sslproject.sty", "references.bib", "sections/method.tex"} <= names
        assert not any(n.endswith((".aux", ".log", ".pdf", ".py", ".md")) for n in names)
        archive.extractall(tmp_path / "overleaf")
    assert check_writeup(tmp_path / "overleaf").returncode == 0


# --- the proposal -----------------------------------------------------------------------

PROPOSAL = (TEMPLATE / "proposal.md").read_text()
MEMBERS = ("- Alice Ivanova (alice.ivanova@example.org)\n- Boris Petrov (@boris_p)\n"
           "- Chen Wei (chen.wei@example.org)\n")


def test_untouched_proposal_passes():
    result = run_tool(TOOLS / "check_proposal.py")
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def drop_section(text: str, heading: str) -> str:
    return re.sub(rf"^## {heading}\n.*?(?=^## )", "", text, flags=re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("edit, messages", [
    (lambda t: t.replace(MEMBERS, "- Alice Ivanova\n- Boris Petrov\n"),
     ["the member list has 2 names; a group has 3 to 5 members"]),
    (lambda t: t.replace(MEMBERS, MEMBERS + "- Dmitry Orlov\n- Eva Novak\n- Farid Aliev\n"),
     ["the member list has 6 names; a group has 3 to 5 members"]),
    (lambda t: drop_section(t, "Datasets"), ["section 'Datasets' is missing"]),
    (lambda t: re.sub(r"(## Motivation\n\n<!--.*?-->\n).*?(?=## Method)", r"\1\n", t, flags=re.DOTALL),
     ["section 'Motivation' is empty"]),
    (lambda t: re.sub(r"(### Baselines\n\n).*?(?=## Datasets)", r"\1TODO: pick baselines\n\n", t,
                      flags=re.DOTALL),
     ["section 'Baselines' still holds placeholder text ('TODO')"]),
    (lambda t: drop_section(drop_section(t, "Method"), "Prior work")
     .replace("# Project proposal: Do", "# Project proposal: <your title> Do"),
     ["section 'Method' is missing", "section 'Prior work' is missing", "the title is still a placeholder"]),
])
def test_incomplete_proposal_fails_naming_each_problem(tmp_path, edit, messages):
    broken = edit(PROPOSAL)
    assert broken != PROPOSAL
    path = tmp_path / "proposal.md"
    path.write_text(broken)
    result = run_tool(TOOLS / "check_proposal.py", path)
    assert result.returncode == 1
    for message in messages:
        assert message in result.stderr
    assert f"{len(messages)} problem" in result.stderr


# --- the experiment starter -----------------------------------------------------------------

@pytest.fixture(scope="module")
def experiment():
    return load(TEMPLATE / "experiment.py")


@pytest.fixture(scope="module")
def smoke_run(experiment, tmp_path_factory):
    """The smoke config's run, into a temporary folder; returns (results folder, argv)."""
    root = tmp_path_factory.mktemp("smoke")
    argv = ["--config", str(TEMPLATE / "configs" / "smoke.toml"), "--results", str(root / "results"),
            "--checkpoints", str(root / "runs"), "--quiet"]
    assert experiment.main(argv) == 0
    return root / "results", argv


def test_smoke_run_writes_json_table_and_figures(smoke_run):
    results, _ = smoke_run
    data = json.loads((results / "results.json").read_text())
    assert sorted(data["runs"]) == ["0", "1"]
    for method in ("simclr", "random_init"):
        for fraction in ("0.1", "1"):
            values = [data["runs"][s]["metrics"][method]["linear_probe"][fraction] for s in ("0", "1")]
            assert all(0 <= v <= 1 for v in values)
            summary = data["summary"][method]["linear_probe"][fraction]
            assert summary["mean"] == pytest.approx(sum(values) / 2)
            assert summary["std"] == pytest.approx(abs(values[0] - values[1]) / 2 ** 0.5)  # n - 1
        knn = [data["runs"][s]["metrics"][method]["knn"] for s in ("0", "1")]
        assert data["summary"][method]["knn"]["mean"] == pytest.approx(statistics.fmean(knn))
    assert all(len(run["pretrain_loss"]) == 1 for run in data["runs"].values())

    table = (results / "table.tex").read_text()
    mean = 100 * data["summary"]["simclr"]["knn"]["mean"]
    std = 100 * data["summary"]["simclr"]["knn"]["std"]
    assert f"{mean:.1f} $\\pm$ {std:.1f}" in table
    assert "\\begin{tabular}" in table and "\\bottomrule" in table and "10\\%" in table
    for name in ("label_fractions", "pretrain_loss"):
        assert (results / f"{name}.pdf").read_bytes().startswith(b"%PDF")
        assert (results / f"{name}.png").read_bytes().startswith(b"\x89PNG")


def test_second_run_resumes_instead_of_recomputing(experiment, smoke_run, capsys, monkeypatch):
    results, argv = smoke_run
    before = json.loads((results / "results.json").read_text())

    # Finished seeds come back from results.json: nothing is trained or evaluated again.
    monkeypatch.setattr(experiment, "run_seed", lambda *a, **k: pytest.fail("recomputed a cached seed"))
    assert experiment.main(argv) == 0
    assert capsys.readouterr().out.count("cached in") == 2
    assert json.loads((results / "results.json").read_text())["runs"] == before["runs"]
    monkeypatch.undo()

    # A run killed after pretraining seed 1 (its checkpoint written, its results not):
    # pretraining resumes from the checkpoint, and the numbers are those of the full run.
    partial = dict(before, runs={"0": before["runs"]["0"]})
    (results / "results.json").write_text(json.dumps(partial))
    fits = []
    original_fit = experiment.fit
    monkeypatch.setattr(experiment, "fit",
                        lambda *a, **k: fits.append(k["checkpoint"]) or original_fit(*a, **k))
    assert experiment.main(argv) == 0
    assert [Path(c).name for c in fits] == ["seed1.ckpt"] and Path(fits[0]).exists()
    after = json.loads((results / "results.json").read_text())
    assert after["runs"]["1"]["metrics"] == before["runs"]["1"]["metrics"]
    assert after["runs"]["1"]["pretrain_loss"] == before["runs"]["1"]["pretrain_loss"]


def test_changed_config_recomputes_and_unknown_keys_fail(experiment, tmp_path):
    import course_utils as cu

    profile = cu.profile("grading")
    smoke = experiment.load_config(TEMPLATE / "configs" / "smoke.toml", profile)
    default = experiment.load_config(TEMPLATE / "configs" / "default.toml", profile)
    assert default["pretrain"]["epochs"] == profile.epochs
    assert default["run"]["seeds"] == list(range(profile.seeds))
    assert smoke["run"]["seeds"] == [0, 1] and smoke["pretrain"]["lr"] == default["pretrain"]["lr"]
    assert experiment.config_key(smoke) != experiment.config_key(default)
    reseeded = json.loads(json.dumps(smoke))
    reseeded["run"]["seeds"] = [0, 1, 2]
    assert experiment.config_key(reseeded) == experiment.config_key(smoke)  # more seeds reuse the old ones

    typo = tmp_path / "typo.toml"
    typo.write_text("[pretrain]\nepoch = 3\n")
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['epoch'\] in \[pretrain\]"):
        experiment.load_config(typo, profile)


@pytest.mark.parametrize("toml, warmup", [("2", 2), ("-0.1", -0.1), ("true", True), ('"0.1"', "0.1")])
def test_a_warmup_that_is_not_a_fraction_fails_naming_it(experiment, tmp_path, toml, warmup):
    import course_utils as cu

    path = tmp_path / "bad_warmup.toml"
    path.write_text(f"[pretrain]\nwarmup = {toml}\n")
    message = (r"\[pretrain\] warmup must be a fraction of the epochs in \[0, 1\], got "
               + re.escape(repr(warmup)))
    with pytest.raises(ValueError, match=message):
        experiment.load_config(path, cu.profile("grading"))


@needs_tex
def test_write_up_includes_the_experiment_outputs(compiled, smoke_run, tmp_path):
    folder = copy_template(tmp_path / "project")
    shutil.copytree(smoke_run[0], folder / "results")
    result = check_writeup(folder)
    assert result.returncode == 0, result.stderr
    log = (folder / "main.log").read_text(errors="replace")
    assert "results/table.tex" in log and "results/label_fractions.pdf" in log  # \input and included

"""End to end on a tiny synthetic data set: every section, probe figure and number lands in the report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from cnnreport import cli
from cnnreport.data.sources import IDX_FILES, write_idx
from cnnreport.report.numbering import number

STUDY = """
name = "tiny"
title = "Tiny synthetic study"
seeds = [0]
[data]
source = "fashion_mnist"
val_fraction = 0.2
[training]
epochs = 1
batch_size = 32
learning_rate = 1e-3
[baseline]
hidden = [16]
[cnn]
dense = [8]
[[cnn.blocks]]
filters = 4
kernel_size = 3
[[cnn.blocks]]
filters = 8
kernel_size = 3
[experiment]
factor = "kernel_size"
levels = [1, 3]
[text.rationale]
kernel_size = "Small <b>kernels</b>."
"""


def _fake_fashion(folder: Path, n_train: int = 160, n_test: int = 40) -> None:
    """Class c is a bright bar at row 2c+4: learnable in one epoch, and spatially structured."""
    rng = np.random.default_rng(0)

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(y):
            x[i, 2 * c + 4, 4:24] = 250
        return x, y

    xtr, ytr = make(n_train)
    xte, yte = make(n_test)
    for key, arr in (("train_images", xtr), ("train_labels", ytr), ("test_images", xte), ("test_labels", yte)):
        write_idx(folder / IDX_FILES[key], arr)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    data = root / "data"
    data.mkdir()
    _fake_fashion(data)
    study = root / "tiny.toml"
    study.write_text(STUDY)
    rc = cli.main(["build", "--study", str(study), "--data-dir", str(data), "--runs-dir", str(root / "runs"),
                   "--reports-dir", str(root / "reports")])
    assert rc == 0
    return root / "reports" / "tiny"


@pytest.mark.slow  # trains five tiny runs and renders a PDF: ~45 s on a 2-core CPU
def test_probe_runs_go_through_the_run_store(built):
    runs = list((built.parent.parent / "runs" / "tiny").iterdir())
    permuted = [r.name for r in runs if "-permuted-" in r.name]
    assert len(permuted) == 2  # baseline and reference, one seed each
    assert {"mlp", "cnn"} == {name.split("-")[0] for name in permuted}


@pytest.mark.slow  # trains five tiny runs and renders a PDF: ~45 s on a 2-core CPU
def test_report_json_has_probes_visuals_and_text_origin(built):
    ctx = json.loads((built / "report.json").read_text())
    p = ctx["probes"]
    assert set(p) == {"translation", "permutation", "weight_sharing", "equivariance"}
    assert p["translation"]["shifts"] == [0, 1, 2, 3, 4]
    assert set(p["translation"]["models"]) == {"mlp", "cnn · kernel 3×3"}
    assert set(p["permutation"]["models"]) == {"mlp", "cnn · kernel 3×3"}
    assert all(r["equivariance"] < 1e-4 for r in p["equivariance"]["cnn_layers"][0]["rows"])
    assert p["weight_sharing"][0]["conv"] == 3 * 3 * 1 * 4 + 4
    assert ctx["text_origin"] == {"dataset": "generated", "preprocessing": "generated",
                                  "rationale": "partial", "interpretation": "generated"}
    assert len(ctx["visuals"]["confusion"]) == 10
    assert all(ctx["generated"][k] for k in ("q1", "q2", "q3", "permutation", "translation", "weight_sharing"))


@pytest.mark.slow  # trains five tiny runs and renders a PDF: ~45 s on a 2-core CPU
def test_every_figure_has_a_file_caption_and_alt_text(built):
    ctx = json.loads((built / "report.json").read_text())
    ids = {f["id"] for f in ctx["figures"]}
    for needed in ("arch_baseline", "arch_reference", "probe_translation", "probe_equivariance",
                   "probe_permutation", "probe_weight_sharing", "filters", "feature_maps_0",
                   "feature_maps_1", "confusion", "misclassified", "image_dimensions"):
        assert needed in ids
    for f in ctx["figures"]:
        assert (built / f["file"]).is_file() and f["caption"] and f["alt"]
    html = (built / "report.html").read_text()
    imgs = re.findall(r'<img src="([^"]+)" alt="([^"]*)"', html)
    assert imgs and all(alt for _, alt in imgs)
    assert all(not src.startswith("/") for src, _ in imgs)  # relative: the folder opens from a zip


@pytest.mark.slow  # trains five tiny runs and renders a PDF: ~45 s on a 2-core CPU
def test_html_sections_numbering_and_escaping(built):
    html = (built / "report.html").read_text()
    for section in ("data", "baseline", "cnn", "interpretation", "reproducibility", "probes", "questions", "learned"):
        assert f'id="{section}"' in html
    n_figs = len(re.findall(r"<figure ", html))
    assert [int(n) for n in re.findall(r'<span class="num-label">Figure (\d+)\.</span>', html)] == list(range(1, n_figs + 1))
    assert 'href="#fig-samples">Figure ' in html and "not in this report" not in html
    assert "Small &lt;b&gt;kernels&lt;/b&gt;." in html            # author text escaped
    assert "text.rationale.conv_layers" in html                    # missing justification flagged
    assert (built / "report.pdf").stat().st_size > 10_000


def test_numbering_pass():
    html = ('<a class="ref" href="#fig-b">Figure</a> <figure id="fig-a"><figcaption><span class="num-label" '
            'data-ref="fig-a">Figure</span> A</figcaption></figure><figure id="fig-b"><figcaption>'
            '<span class="num-label" data-ref="fig-b">Figure</span> B</figcaption></figure>'
            '<p class="table-caption"><span class="num-label">Table</span> x</p>'
            '<p class="table-caption" id="tab-t"><span class="num-label">Table</span> y</p>'
            '<a class="ref" href="#tab-t">Table</a> <a class="ref" href="#fig-z">Figure</a>')
    out = number(html)
    assert '<a class="ref" href="#fig-b">Figure 2</a>' in out
    assert "Figure 1.</span> A" in out and "Table 2.</span> y" in out
    assert '<a class="ref" href="#tab-t">Table 2</a>' in out
    assert "figure (not in this report)" in out


def test_init_writes_an_editable_copy(tmp_path):
    target = tmp_path / "mine.toml"
    assert cli.main(["init", "--study", "fashion-mnist", "--output", str(target)]) == 0
    assert "[text.rationale]" in target.read_text()
    assert cli.main(["init", "--study", "fashion-mnist", "--output", str(target)]) == 2  # no overwrite
    assert cli.main(["init", "--study", "fashion-mnist", "--output", str(target), "--force"]) == 0
    from cnnreport.study.loading import load_study

    assert load_study(str(target), "quick").name == "fashion-mnist"

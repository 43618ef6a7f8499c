"""The shared tiny study rendered without the author's dataset text and interpretation and with
one design decision justified: every section, probe figure and number lands in the report, and
what the author did not write is generated or flagged."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from cnnreport.report.numbering import number
from cnnreport.study.loading import load_study

from helpers import TrainedStudy, shared_study_toml


@pytest.fixture(scope="module")
def built(trained_study: TrainedStudy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """reports/tiny of the shared runs (only read) rendered with that text, PDF included."""
    from cnnreport.pipeline import context_for, render
    from cnnreport.train.workspace import Workspace

    root = tmp_path_factory.mktemp("sections")
    study = root / "tiny.toml"
    study.write_text(shared_study_toml(text_dataset="", interpretation="",
                                       rationale={"kernel_size": "Small <b>kernels</b>."}), encoding="utf-8")
    shutil.copytree(trained_study.reports, root / "reports")  # its cache: no figure is redrawn
    render(context_for(load_study(study), Workspace(runs_root=trained_study.runs, reports_root=root / "reports")),
           echo=lambda _m: None)
    return root / "reports" / "tiny"


def test_probe_runs_go_through_the_run_store(trained_study):
    permuted = [r.name for r in trained_study.study_runs.iterdir() if "-permuted-" in r.name]
    assert len(permuted) == 4  # baseline and reference, two seeds each
    assert {"mlp", "cnn"} == {name.split("-")[0] for name in permuted}


def test_report_json_has_probes_visuals_and_text_origin(built):
    ctx = json.loads((built / "report.json").read_text())
    p = ctx["probes"]
    assert set(p) == {"translation", "permutation", "weight_sharing", "equivariance"}
    assert p["translation"]["shifts"] == [0, 1, 2, 3, 4]
    assert set(p["translation"]["models"]) == {"mlp", "cnn · kernel 3×3"}
    assert set(p["permutation"]["models"]) == {"mlp", "cnn · kernel 3×3"}
    assert all(r["equivariance"] < 1e-4 for r in p["equivariance"]["cnn_layers"][0]["rows"])
    assert p["weight_sharing"][0]["conv"] == 3 * 3 * 1 * 8 + 8
    assert ctx["text_origin"] == {"dataset": "generated", "preprocessing": "generated",
                                  "rationale": "partial", "interpretation": "generated"}
    assert len(ctx["visuals"]["confusion"]) == 10
    assert all(ctx["generated"][k] for k in ("q1", "q2", "q3", "permutation", "translation", "weight_sharing"))


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


def test_kernel_and_feature_map_captions_state_the_number_drawn(tmp_path):
    """The captions state how many kernels or channels are drawn, and 'up to' where one has fewer."""
    import numpy as np
    from cnnreport.report.figures.models import feature_maps, first_layer_filters

    rng = np.random.default_rng(0)
    fig = first_layer_filters([("cnn · a", rng.random((3, 3, 1, 8))), ("cnn · b", rng.random((3, 3, 1, 4)))],
                              tmp_path / "a")
    assert "(up to the first 8 filters," in fig["caption"]
    fig = first_layer_filters([("cnn · a", rng.random((3, 3, 1, 32)))], tmp_path / "b")
    assert "(first 16 filters," in fig["caption"]
    image = np.zeros((8, 8, 1), np.uint8)
    fig = feature_maps(image, [("cnn", [("conv1", rng.random((8, 8, 4)))])], tmp_path / "c", "fm", "cnn")
    assert ", first 4 channels," in fig["caption"]
    fig = feature_maps(image, [("cnn", [("conv1", rng.random((8, 8, 4))), ("conv2", rng.random((4, 4, 16)))])],
                       tmp_path / "e", "fm", "cnn")
    assert "up to the first 8 channels" in fig["caption"]
    fig = feature_maps(image, [("cnn", [("conv1", rng.random((8, 8, 32)))])], tmp_path / "d", "fm", "cnn")
    assert ", first 8 channels," in fig["caption"]

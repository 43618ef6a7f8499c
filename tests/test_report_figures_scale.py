"""Figures that hold at twelve levels: a palette colour-blind readers can tell apart, a look of
its own for every series (markers and line styles beyond the palette), legends outside the
data, tick labels that never run into each other, and curves of one or two epochs drawn as
points. Measured on matplotlib's layout (tests/figure_checks.py), on summaries of made-up runs:
the figures read only what the runs' summaries hold."""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pytest

from cnnreport.report.figures import probes as probe_figures
from cnnreport.report.figures import style
from cnnreport.report.figures import training as training_figures
from cnnreport.results.probes import Permutation, PermutedModel, WeightSharing
from cnnreport.results.statistics import summarize
from cnnreport.results.summaries import summarize_models
from cnnreport.study.models import study_models

from figure_checks import capture_figures, legends_over_data, overlapping_texts, series_looks
from helpers import tiny_study

TWELVE = list(range(1, 13))

# Machado, Oliveira & Fernandes (2009), severity 1: linear-RGB matrices simulating each deficiency.
DEFICIENCIES = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
    "typical vision": np.eye(3).tolist(),
}
MIN_DELTA_E = 12.0  # CIE76 distance; two colours this far apart read as different at a glance


def _lab(hex_colour: str, matrix) -> np.ndarray:
    rgb = np.array(matplotlib.colors.to_rgb(hex_colour))
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    linear = np.clip(np.asarray(matrix) @ linear, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    f = np.where((xyz := xyz / [0.95047, 1.0, 1.08883]) > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("vision", DEFICIENCIES)
def test_the_palettes_colours_stay_apart_for_colour_blind_readers(vision):
    labs = {c: _lab(c, DEFICIENCIES[vision]) for c in style.PALETTE}
    closest = min((float(np.linalg.norm(labs[a] - labs[b])), a, b) for a, b in itertools.combinations(labs, 2))
    assert closest[0] >= MIN_DELTA_E, f"{vision}: {closest[1]} and {closest[2]} are {closest[0]:.1f} apart"


def test_twelve_series_each_look_different_and_the_first_nine_by_colour_alone():
    looks = [style.series_style(i) for i in TWELVE]
    assert len({(s["color"], s["marker"], s["linestyle"]) for s in looks}) == 12
    assert len({s["marker"] for s in looks}) == 12  # a marker of its own, in black and white too
    assert len({s["color"] for s in looks[: len(style.PALETTE)]}) == len(style.PALETTE)
    assert all((a["color"], a["linestyle"]) != (b["color"], b["linestyle"]) for a, b in itertools.combinations(looks, 2))


def _models(levels: list[int], epochs: int, seeds=(0, 1, 2, 3, 4), names: dict[int, str] | None = None):
    """Summaries of made-up runs of a kernel-size study with these levels."""
    study = tiny_study(experiment={"factor": "kernel_size", "levels": levels}, seeds=list(seeds))
    specs = study_models(study)
    rng = np.random.default_rng(0)
    records = []
    for i, spec in enumerate(specs):
        for seed in seeds:
            acc = np.clip(0.5 + 0.03 * i + 0.1 * np.log1p(np.arange(epochs)) + rng.normal(0, 0.01, epochs), 0, 1)
            records.append({
                "run_id": f"{i}-{seed}", "model": {"name": spec.name}, "seed": seed, "probe": "none", "diverged": False,
                "history": {"loss": list(2 - acc), "val_loss": list(2.1 - acc), "accuracy": list(acc),
                            "val_accuracy": list(acc - 0.02), "epoch_time_s": [1.0] * epochs},
                "test": {"accuracy": float(acc[-1] - 0.03), "loss": float(2 - acc[-1])},
                "architecture": {}, "train_time_s": float(epochs), "predict_ms_per_image": 0.1})
    return summarize_models(specs, records, test_images=500)


def _check(fig) -> None:
    assert overlapping_texts(fig) == []
    assert legends_over_data(fig) == []


def test_twelve_levels_of_curves_each_have_a_look_and_a_legend_outside(tmp_path, monkeypatch):
    figures = capture_figures(monkeypatch)
    training_figures.variant_curves(_models(TWELVE, epochs=20), tmp_path / "figures")
    (fig,) = figures
    _check(fig)
    for ax in fig.axes:
        looks = series_looks(ax)
        assert len(looks) == 12 and len(set(looks)) == 12


def test_twelve_levels_of_bars_have_labels_that_do_not_run_into_each_other(tmp_path, monkeypatch):
    figures = capture_figures(monkeypatch)
    training_figures.accuracy_bars(_models(TWELVE, epochs=3), 10, tmp_path / "figures")
    (fig,) = figures
    _check(fig)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert len(labels) == 13 and all(max(len(line) for line in label.split("\n")) <= 16 for label in labels)


def test_long_hand_written_names_are_turned_when_wrapping_is_not_enough(tmp_path, monkeypatch):
    figures = capture_figures(monkeypatch)
    models = [m.model_copy(update={"name": m.name.replace(" ", "_") + "_with_a_dropout_of_0.5"})
              for m in _models(TWELVE, epochs=3)]  # one long word each: nothing to wrap at
    training_figures.accuracy_bars(models, 10, tmp_path / "figures")
    (fig,) = figures
    assert overlapping_texts(fig) == []
    assert {t.get_rotation() for t in fig.axes[0].get_xticklabels()} == {45.0}


@pytest.mark.parametrize("epochs", [1, 2])
def test_curves_of_one_or_two_epochs_are_drawn_as_points_on_whole_epochs(epochs, tmp_path, monkeypatch):
    figures = capture_figures(monkeypatch)
    models = _models([1, 3, 5], epochs=epochs)
    training_figures.variant_curves(models, tmp_path / "figures")
    training_figures.training_curves(models[1], [], tmp_path / "figures", "curves_reference")
    assert len(figures) == 2
    for fig in figures:
        _check(fig)
        for ax in fig.axes:
            series = [h.lines[0] if hasattr(h, "lines") else h for h in ax.get_legend_handles_labels()[0]]
            assert series and all(line.get_marker() not in (None, "None", "") for line in series)
            assert list(ax.get_xticks()) == list(range(1, epochs + 1))  # not 0.96 … 1.04
            lo, hi = ax.get_xlim()
            assert lo < 1 and hi > epochs
            firsts = [line.get_xdata()[0] for line in series]  # the series of one epoch side by side
            assert len(set(firsts)) == len(series) and all(abs(x - 1) < 0.4 for x in firsts)


def test_probe_figures_keep_their_legends_off_the_bars(tmp_path, monkeypatch):
    figures = capture_figures(monkeypatch)
    probe_figures.weight_sharing_figure([WeightSharing(
        layer=f"conv{i}", conv=10 ** i, locally_connected=10 ** (i + 2), dense=10 ** (i + 4), positions=16, kernel=3,
        in_channels=1, filters=8, input=[8, 8, 1], output=[8, 8, 8], actual_params=10 ** i) for i in (1, 2)],
        tmp_path / "figures")
    values = summarize([0.79, 0.81])
    probe_figures.permutation_figure(Permutation(
        models={name: PermutedModel(role=role, normal=values, permuted=values, change=summarize([0.0, 0.0]))
                for name, role in (("mlp", "baseline"), ("cnn · kernel 3×3", "reference"))},
        seed=0, run_ids=[]), np.zeros((28, 28, 1), np.uint8), np.zeros((28, 28, 1), np.uint8), tmp_path / "figures")
    assert len(figures) == 2
    for fig in figures:
        _check(fig)


@pytest.mark.slow  # a real build of 75 runs: about 60–80 s on a 2-core CPU
@pytest.mark.filterwarnings("ignore:More than 20 figures")  # kept open on purpose, to be measured
def test_every_figure_of_a_real_twelve_level_five_seed_build_holds(tmp_path, fashion_copy, monkeypatch, capsys):
    """12 kernel sizes × 5 seeds on the tiny subset, one epoch (curves as points): no figure of
    the report has overlapping text or a legend over its data, and the curves tell 12 levels apart."""
    from helpers import run_cli, shared_study_toml

    study = tmp_path / "twelve.toml"
    study.write_text(shared_study_toml(name="twelve", seeds="[0, 1, 2, 3, 4]", epochs=1,
                                       levels=str(TWELVE)), encoding="utf-8")
    figures = capture_figures(monkeypatch)
    code, out, err = run_cli(["build", "--study", study, "--runs-dir", tmp_path / "runs",
                              "--reports-dir", tmp_path / "reports", "--no-pdf"], capsys)
    assert code == 0, err
    assert "75 runs" in out and len(figures) >= 29
    for fig in figures:
        assert overlapping_texts(fig) == [], [t.get_text() for t in fig.axes[0].get_xticklabels()][:3]
        assert legends_over_data(fig) == []
    curves = [f for f in figures if len(f.axes) == 2 and len(series_looks(f.axes[0])) == 12]
    assert len(curves) == 1 and len(set(series_looks(curves[0].axes[0]))) == 12

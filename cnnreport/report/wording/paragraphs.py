"""Paragraphs generated from the study's numbers (report.json `generated`), and which text is the
author's (report.json `text_origin`).

Every sentence here states a number computed elsewhere; nothing is asserted that the numbers do
not show (a comparison that goes the "wrong" way is reported as it went). Words follow sign and
size: a negative gap is "0.1 pts below", never "exceeds by −0.1"; "beats" only where the primary
comparison's test says so. The author's text in the study file ([text]) is shown beside or
instead of these.
"""

from __future__ import annotations

from typing import Literal, Sequence

from cnnreport.contract import Part
from cnnreport.data.eda import DatasetSummary
from cnnreport.formatting import (
    fmt_int,
    fmt_num,
    fmt_p,
    fmt_pct,
    fmt_pm_pct,
    fmt_pts,
    fmt_ratio,
    fmt_sd_pts,
    fmt_tiny,
    pts_value,
)
from cnnreport.report.wording.comparisons import finding, headline, primary_words
from cnnreport.report.wording.words import by_points
from cnnreport.results.baseline import BaselineFacts
from cnnreport.results.errors import ErrorAnalysis
from cnnreport.results.experiment import Headline
from cnnreport.results.findings import Comparison, primary_comparison
from cnnreport.results.probes import PermutedModel, Probes
from cnnreport.results.summaries import ModelSummary
from cnnreport.results.testset import FiniteTestSet
from cnnreport.study.schema import Study
from cnnreport.study.specs import DECISIONS
from cnnreport.study.summary import ProfileNote, ProfileSettings

DIVERGED = "every run it needs diverged (its training loss became NaN or infinite)"
# Said in place of a paragraph about trained models that cannot be written: the report keeps its
# place and says why.
NOT_MEASURED = f"Not measured: {DIVERGED}."

# What a training split's balance means for reading accuracy (data.eda.balance_verdict).
BALANCE_ADVICE = {
    "balanced": "plain accuracy is a fair summary and no class weighting is needed",
    "mildly imbalanced": ("accuracy is still usable; the per-class accuracy in the interpretation shows any "
                          "class left behind"),
    "imbalanced": "plain accuracy flatters the majority classes: read the per-class accuracy and confusion matrix",
}


class GeneratedText(Part):
    """report.json `generated`: every generated paragraph (None where the report has no such
    paragraph: an author's text, a probe that could not run, a full-profile report's quick note,
    a built-in data set's folder paragraphs)."""

    headline: str  # the title page's result line
    balance: str | None
    why_convolution: str | None
    preprocessing: str
    folder_source: str | None  # an image folder: where the images and labels came from, what was skipped
    channels: str | None  # an image folder: grey or colour, and what was converted
    image_sizes: str | None  # an image folder: sizes on disk and the resize policy
    duplicates: str | None  # an image folder: duplicates and leakage across the splits
    baseline_limits: str
    translation: str
    equivariance: str
    permutation: str
    weight_sharing: str | None
    q1: str
    q2: str
    q3: str
    errors: str
    test_set: str | None
    quick_run: str | None  # a quick-profile report: what the full profile adds
    findings: list[str]  # one sentence per comparison, in report.json's order


Origin = Literal["author", "generated"]


class TextOrigin(Part):
    """Which text is the author's (the study file's [text]) and which generated."""

    dataset: Origin
    preprocessing: Origin
    rationale: Literal["author", "partial", "missing"]
    interpretation: Origin


def text_origin(study: Study) -> TextOrigin:
    t = study.text
    given = sum(1 for v in t.rationale.values() if v.strip())
    return TextOrigin(dataset="author" if t.dataset.strip() else "generated",
                      preprocessing="author" if t.preprocessing.strip() else "generated",
                      rationale="author" if given == len(DECISIONS) else ("partial" if given else "missing"),
                      interpretation="author" if t.interpretation.strip() else "generated")


def generate(*, dataset: DatasetSummary, models: Sequence[ModelSummary], baseline: ModelSummary,
             reference: ModelSummary, facts: BaselineFacts, probes: Probes, errors: ErrorAnalysis,
             comparisons: Sequence[Comparison], test_set: FiniteTestSet | None, headline_numbers: Headline,
             profiles: ProfileNote | None) -> GeneratedText:
    """Every generated paragraph."""
    primary = primary_comparison(comparisons)
    eda = eda_paragraphs(dataset, headline_numbers.chance)
    probe = probe_paragraphs(dataset, baseline, reference, probes)
    folder = folder_paragraphs(dataset)
    return GeneratedText(
        headline=headline(reference.test_accuracy, baseline.test_accuracy,
                          headline_numbers.reference_minus_baseline, primary),
        balance=eda.get("balance"), why_convolution=eda.get("why_convolution"), preprocessing=eda["preprocessing"],
        folder_source=folder.get("folder_source"), channels=folder.get("channels"),
        image_sizes=folder.get("image_sizes"), duplicates=folder.get("duplicates"),
        baseline_limits=baseline_limits(facts),
        translation=probe.get("translation", NOT_MEASURED), equivariance=probe.get("equivariance", NOT_MEASURED),
        permutation=probe.get("permutation", NOT_MEASURED), weight_sharing=probe.get("weight_sharing"),
        q1=q1(baseline, reference, probes, primary) or NOT_MEASURED, q2=q2(dataset, reference, probes), q3=q3(baseline, reference, probes),
        errors=error_paragraph(errors) or NOT_MEASURED,
        test_set=test_set_paragraph(baseline, reference, test_set),
        quick_run=profile_paragraph(profiles),
        findings=[finding(c) for c in comparisons])


def eda_paragraphs(eda: DatasetSummary, chance: float) -> dict[str, str]:
    """Class balance, why the data suits convolution, preprocessing."""
    out: dict[str, str] = {}
    h, w, c = eda.image_shape
    corr = eda.locality_correlation
    bal = eda.balance
    names = eda.classes
    out["balance"] = (
        f"The training split is {bal.verdict}: the largest class ({names[bal.largest]}) has "
        f"{fmt_ratio(bal.ratio)} the images of the smallest ({names[bal.smallest]}), so "
        f"{BALANCE_ADVICE[bal.verdict]}. Chance accuracy is {fmt_pct(chance)}.")
    if corr:
        far = max(corr, key=int)
        near = corr.get("1", float("nan"))
        strength = "strongly" if near >= 0.7 else "moderately" if near >= 0.4 else "only weakly"
        out["why_convolution"] = (
            f"Why this data set suits convolution: the images are a regular {h}×{w} grid of "
            f"{c} channel{'s' if c != 1 else ''}, and neighbouring pixels are {strength} related — the "
            f"correlation between horizontally adjacent pixels is {fmt_num(near, 2)}, "
            f"falling to {fmt_num(corr[far], 2)} at {far} pixels apart. Local patterns (edges, textures, "
            "parts) therefore carry the information, and the same pattern can appear anywhere in the "
            "frame: exactly the two assumptions a convolution makes, local receptive fields and one "
            "set of weights shared across positions.")
    out["preprocessing"] = (
        f"Pixels arrive as {eda.dtype} in [{fmt_int(eda.pixel_min)}, {fmt_int(eda.pixel_max)}]; a "
        "Rescaling(1/255) layer inside each model maps them to [0, 1], which keeps the first layer's "
        "pre-activations in the range the default initialisation expects, while the saved model still "
        "takes raw pixels (what an endpoint receives). After scaling the per-channel means are "
        + ", ".join(fmt_num(m, 3) for m in eda.channel_mean) + " and standard deviations "
        + ", ".join(fmt_num(s, 3) for s in eda.channel_std)
        + ": already of order one, so no further standardisation is applied. No augmentation is used, "
        "so that the translation probe below measures what the architecture alone provides.")
    return out


RESIZE_WORDS = {
    "pad": "padded (letterbox): each image scaled to fit whole, its aspect ratio kept, black bars filling the rest",
    "crop": "cropped: the centre kept at the target aspect ratio, the borders beyond it cut off, then scaled",
    "resize": "stretched to the size: the aspect ratio changes wherever it differs",
}
SPLIT_PAIRS = ("train–test", "val–test", "train–val", "train–train", "val–val", "test–test")


def _plural(n: int, word: str, plural: str = "") -> str:
    return f"{fmt_int(n)} {word if n == 1 else plural or word + 's'}"


def folder_paragraphs(eda: DatasetSummary) -> dict[str, str]:
    """An image folder's origin, problems, channels, sizes and duplicates, in words (nothing for a
    built-in data set)."""
    lay, prob, ch, rs, sz, dup = eda.layout, eda.problems, eda.channel_choice, eda.resize, eda.image_sizes, eda.duplicates
    if lay is None or prob is None or ch is None or rs is None or sz is None or dup is None:
        return {}
    labels = (f"labels from {lay.csv} (columns {lay.csv_columns[0]!r} and {lay.csv_columns[1]!r})"
              if lay.labels_from == "csv" and lay.csv_columns else "one sub-folder per class")
    split = {"folders": "its train/ and test/ parts used as found",
             "csv": "the CSV's split column deciding train and test",
             "study": f"{fmt_pct(lay.test_fraction or 0, 0)} of every class held out as the test part (stratified, fixed seed)"}
    problems = (f"{_plural(prob.skipped, 'file')} skipped (unreadable, empty, undecodable or not an image), "
                f"{_plural(prob.read, 'file')} read with a note and {_plural(prob.ignored, 'entry', 'entries')} ignored "
                "as not data (system and tool files and folders), each listed below"
                if prob.files else "no file skipped or ignored")
    grey, colour = ch.grey_images, ch.colour_images
    chosen = "grey-scale (1 channel)" if ch.chosen == 1 else "colour (3 channels)"
    how = "as most images are" if ch.setting == "auto" else f"as the study sets (data.channels = {ch.setting})"
    conversion = ("colour images converted to grey by luma (ITU-R 601-2)" if ch.chosen == 1
                  else "grey images repeated in the three channels")
    common = ", ".join(f"{a}×{b} ({fmt_int(n)})" for a, b, n in sz.common[:3])
    leaks = dup.leakage_exact + dup.leakage_near
    pairs = ", ".join(f"{k} {fmt_int(dup.exact[k] + dup.near.get(k, 0))}" for k in SPLIT_PAIRS
                      if k in dup.exact and dup.exact[k] + dup.near.get(k, 0))
    leak_text = (f"{_plural(leaks, 'pair')} ({fmt_int(dup.leakage_exact)} exact, {fmt_int(dup.leakage_near)} near) "
                 f"join a test image to a training or validation image: {_plural(dup.leaked_test_images, 'test image')} "
                 "leak, so the test accuracy partly measures recall of images the models saw or were chosen on. "
                 "They are flagged, not dropped: remove them from the test part (listed below) and rebuild."
                 if leaks else "No test image duplicates a training or validation image: no leakage found.")
    return {
        "folder_source": (
            f"The images were read from the folder {lay.path}, {labels}, {split[lay.split_by]}. Of "
            f"{_plural(lay.files_considered, 'image file')} tried, {fmt_int(lay.images_loaded)} were loaded; "
            f"{problems}."),
        "channels": (
            f"Channels: {_plural(grey, 'image')} {'is' if grey == 1 else 'are'} grey-scale (by mode or content) and "
            f"{fmt_int(colour)} colour, so the set is used as {chosen}, {how}; {_plural(ch.converted, 'image')} "
            f"changed: {conversion}. Transparent pixels are composited on {rs.background}."),
        "image_sizes": (
            f"Sizes on disk: {_plural(sz.distinct, 'distinct size')} (most common {common}); heights "
            f"{fmt_num(sz.height.min, 0)}–{fmt_num(sz.height.max, 0)} px (median {fmt_num(sz.height.median, 0)}), "
            f"widths {fmt_num(sz.width.min, 0)}–{fmt_num(sz.width.max, 0)} px (median {fmt_num(sz.width.median, 0)}), "
            f"aspect ratios {fmt_num(sz.aspect.min, 2)}–{fmt_num(sz.aspect.max, 2)}. Every image is brought to "
            f"{rs.size[0]}×{rs.size[1]} pixels, {RESIZE_WORDS[rs.policy]} (data.resize = \"{rs.policy}\", "
            f"{rs.method} resampling); {_plural(rs.changed, 'image')} changed size, {fmt_int(rs.aspect_changed)} "
            "of them aspect ratio."),
        "duplicates": (
            f"Duplicates among the {fmt_int(dup.images)} images of the three splits ({dup.method}): "
            f"{_plural(sum(dup.exact.values()), 'exact pair')} and {_plural(sum(dup.near.values()), 'near pair')}"
            + (f" ({pairs})" if pairs else "") + f". {leak_text}"),
    }


def baseline_limits(facts: BaselineFacts) -> str:
    """The baseline's limits, from its numbers."""
    gap = facts.generalisation_gap.mean
    parts = []
    if gap is not None:
        if gap > 0:
            parts.append(f"its final training accuracy exceeds its validation accuracy by "
                         f"{pts_value(gap, False)} pts (mean over seeds), the generalisation gap")
        else:
            parts.append(f"its final training accuracy is {by_points(gap, 'above', 'below', 'equal to')} "
                         f"its validation accuracy (mean over seeds): no generalisation gap at this budget, "
                         f"so these runs show no memorising of the training images")
    if facts.plateau_epoch:
        parts.append(f"validation accuracy is within 0.5 pts of its best by epoch "
                     f"{facts.plateau_epoch} of {facts.epochs}")
    if facts.params_per_point:
        ref = facts.reference_params_per_point
        parts.append(f"it spends {fmt_int(facts.params_per_point)} parameters per percentage point "
                     "of accuracy above chance" + (f" against {fmt_int(ref)} for the reference CNN" if ref else ""))
    share = facts.first_layer_share
    return ("Limitations, from the numbers: " + "; ".join(parts) + ". "
            + (f"The first dense layer alone holds {fmt_int(facts.first_layer_params)} weights "
               f"({fmt_pct(share)} of the model), one per (input pixel, hidden unit) pair: it sees the "
               f"{fmt_int(facts.inputs)} inputs as an unordered vector, so it cannot use the fact that "
               "neighbouring pixels belong together, and a pattern learned at one position must be "
               "learned again at every other position." if share else ""))


def _moves(drop: float | None) -> str:
    """The verb for an accuracy that falls by `drop` (a rise is a negative drop)."""
    return "lowers" if drop and drop > 0 else "raises" if drop and drop < 0 else "leaves unchanged"


def kernel_text(model: ModelSummary) -> str:
    first = next((layer for layer in model.layers if layer.type == "Conv2D"), None)
    return first.kernel if first else "k×k"


def probe_paragraphs(eda: DatasetSummary, baseline: ModelSummary, reference: ModelSummary,
                     probes: Probes) -> dict[str, str]:
    """One paragraph per inductive-bias probe: translation, equivariance, permutation, sharing."""
    out: dict[str, str] = {}
    w = eda.image_shape[1]
    tr = probes.translation
    k = tr.shifts[-1]
    tm = tr.models
    b_name, r_name = baseline.name, reference.name
    if b_name in tm and r_name in tm:
        b, r = tm[b_name], tm[r_name]
        b_drop, r_drop = b.drop.mean or 0.0, r.drop.mean or 0.0
        out["translation"] = (
            f"Shifting the test images by {k} pixels (of {w}) {_moves(b_drop)} the baseline from "
            f"{fmt_pm_pct(b.per_shift[0])} to {fmt_pm_pct(b.per_shift[-1])} ({fmt_pts(-b_drop)}) and "
            f"{_moves(r_drop)} the reference CNN from {fmt_pm_pct(r.per_shift[0])} to "
            f"{fmt_pm_pct(r.per_shift[-1])} ({fmt_pts(-r_drop)}); measured on "
            f"{fmt_int(tr.n_images)} test images over {len(r.per_seed)} seeds. "
            + ("The CNN keeps more of its accuracy under shifts. " if r_drop < b_drop
               else "The CNN is not more robust to shifts here: equivariant conv layers are followed by "
                    "a position-specific dense head, so shift robustness is not guaranteed. ")
            + ("Neither model is invariant: convolution gives equivariance, not invariance."
               if b_drop > 0 and r_drop > 0 else "Convolution gives equivariance, not invariance."))
    eq = probes.equivariance
    if eq.cnn_layers:
        first = eq.cnn_layers[0]
        e_max = max(row.equivariance for row in first.rows)
        ch = [row.change for row in first.rows]
        mlp = [row.change for row in eq.mlp_rows]
        deeper = eq.cnn_layers[1:]
        deep_txt = ""
        if deeper and deeper[-1].rows:
            last = deeper[-1]
            deep_txt = (f" Deeper, {last.layer} (downsampled {last.stride}×) stays equivariant for "
                        f"shifts that are whole pixels of its map: error "
                        f"{fmt_tiny(max(row.equivariance for row in last.rows))}.")
        out["equivariance"] = (
            f"Equivariance on feature maps: shifting the input and then applying {first.layer} "
            f"gives the shifted feature map up to a relative error {fmt_tiny(e_max)} "
            f"(interior, {eq.n_images} images), although the map itself changes by "
            f"{fmt_pct(min(ch), 0)}–{fmt_pct(max(ch), 0)}.{deep_txt} The MLP's first dense layer changes by "
            f"{fmt_pct(min(mlp), 0)}–{fmt_pct(max(mlp), 0)} under the same shifts, and no rearrangement of "
            "its units undoes it: each unit is tied to absolute pixel positions.")
    pm = probes.permutation.models
    if b_name in pm and r_name in pm:
        bp, rp = pm[b_name], pm[r_name]
        out["permutation"] = (
            f"Locality: retrained on images whose pixels are shuffled by one fixed permutation, the "
            f"baseline goes from {fmt_pm_pct(bp.normal)} to {fmt_pm_pct(bp.permuted)} "
            f"({fmt_pts(bp.change.mean)}), the reference CNN from {fmt_pm_pct(rp.normal)} to "
            f"{fmt_pm_pct(rp.permuted)} ({fmt_pts(rp.change.mean)}). A fixed permutation of the "
            "inputs is just a relabelling of the MLP's input weights, so it loses nothing it relies "
            f"on; the CNN's {kernel_text(reference)} neighbourhoods now contain unrelated pixels. "
            + _margin_change(bp, rp))
    if probes.weight_sharing:
        f = probes.weight_sharing[0]
        out["weight_sharing"] = (
            f"Weight sharing: {f.layer} maps a {'×'.join(map(str, f.input))} input to a "
            f"{'×'.join(map(str, f.output))} map with {fmt_int(f.conv)} parameters. A locally "
            f"connected layer with the same {f.kernel}×{f.kernel} receptive fields but its own "
            f"weights at each of the {fmt_int(f.positions)} positions would need {fmt_int(f.locally_connected)} "
            f"({fmt_ratio(f.locally_connected / f.conv, 0)}), and a dense layer producing the same output "
            f"{fmt_int(f.dense)} ({fmt_ratio(f.dense / f.conv, 0)}).")
    return out


def _margin(bp: PermutedModel, rp: PermutedModel) -> tuple[float, float]:
    """The CNN's margin over the baseline on original and on permuted pixels."""
    return ((rp.normal.mean or 0.0) - (bp.normal.mean or 0.0), (rp.permuted.mean or 0.0) - (bp.permuted.mean or 0.0))


def _margin_change(bp: PermutedModel, rp: PermutedModel) -> str:
    normal, permuted = _margin(bp, rp)
    text = (f"The CNN's margin over the baseline goes from {fmt_pts(normal)} on original pixels to "
            f"{fmt_pts(permuted)} on permuted ones: ")
    if normal <= 0:
        return text + "there was no advantage to lose."
    if permuted <= 0:
        return text + "its advantage disappears."
    return text + ("its advantage shrinks." if permuted < normal else "its advantage does not shrink here.")


def q1(baseline: ModelSummary, reference: ModelSummary, probes: Probes, primary: Comparison | None) -> str | None:
    """The lab's first question: why convolution wins, and by how much (None without a result of each)."""
    if reference.test_accuracy.mean is None or baseline.test_accuracy.mean is None:
        return None
    diff = reference.test_accuracy.mean - baseline.test_accuracy.mean
    text = primary_words(diff, primary, reference.test_accuracy, baseline.test_accuracy)
    if baseline.params and reference.params:
        text += f". The CNN has {fmt_ratio(reference.params / baseline.params)} the baseline's parameters"
    pm = probes.permutation.models
    if baseline.name in pm and reference.name in pm and diff > 0:
        normal, permuted = _margin(pm[baseline.name], pm[reference.name])
        if permuted < normal:
            text += (f". The permutation probe shows where the margin comes from: with the spatial layout "
                     f"destroyed the CNN's margin over the baseline goes from {fmt_pts(normal)} to "
                     f"{fmt_pts(permuted)}, so its advantage is the use of pixel neighbourhoods, not extra capacity")
        else:
            text += (f". With the spatial layout destroyed the CNN's margin over the baseline goes from "
                     f"{fmt_pts(normal)} to {fmt_pts(permuted)}: the permutation probe does not tie the "
                     "advantage to pixel neighbourhoods here")
    return text + "."


def q2(eda: DatasetSummary, reference: ModelSummary, probes: Probes) -> str:
    """The lab's second question: the inductive bias, each part measured."""
    h, w, _ = eda.image_shape
    parts = []
    ws = probes.weight_sharing
    if ws:
        parts.append(f"weight sharing (one {ws[0].kernel}×{ws[0].kernel} kernel reused at "
                     f"{fmt_int(ws[0].positions)} positions: {fmt_ratio(ws[0].locally_connected / ws[0].conv, 0)} "
                     "fewer parameters than the same layer without sharing)")
    if reference.receptive_field:
        parts.append(f"local receptive fields (each first-layer unit sees {kernel_text(reference)} pixels; the "
                     f"last conv layer {reference.receptive_field}×{reference.receptive_field} of the "
                     f"{h}×{w} image)")
    eq = probes.equivariance
    if eq.cnn_layers:
        parts.append(f"translation equivariance (feature maps shift with the input, relative error "
                     f"{fmt_tiny(max(row.equivariance for row in eq.cnn_layers[0].rows))})")
    return ("Its inductive bias has three parts, each measured above: " + "; ".join(parts) + ". "
            "Together they encode the prior that an image is made of local patterns that may "
            "occur anywhere, which the model therefore does not have to learn from data.")


def q3(baseline: ModelSummary, reference: ModelSummary, probes: Probes) -> str:
    """The lab's third question: when convolution does not fit."""
    text = "Convolution does not fit data whose inputs have no meaningful neighbourhood: "
    pm = probes.permutation.models
    if baseline.name in pm and reference.name in pm:
        text += (f"on permuted pixels the CNN reaches {fmt_pm_pct(pm[reference.name].permuted)} against the "
                 f"baseline's {fmt_pm_pct(pm[baseline.name].permuted)}. ")
    return text + ("The same holds for tabular features in arbitrary column order, for inputs where absolute "
                   "position carries the meaning (a fixed form, a centred sensor reading) so that sharing "
                   "weights across positions throws information away, and for very small inputs where the "
                   "parameter savings of sharing are negligible.")


def test_set_paragraph(baseline: ModelSummary, reference: ModelSummary, test_set: FiniteTestSet | None) -> str | None:
    """How much of the spread comes from seeds and how much from the finite test set."""
    if test_set is None or not test_set.n_images:
        return None
    n = test_set.n_images
    parts = []
    for label, m in (("the reference CNN", reference), ("the baseline", baseline)):
        sp = test_set.models.get(m.name)
        if sp is None or sp.seed_sd is None:
            continue
        parts.append(f"for {label} the seed-to-seed standard deviation is {fmt_sd_pts(sp.seed_sd)} "
                     f"against {fmt_sd_pts(sp.test_sd)} from the test images, so seeds make "
                     f"{fmt_pct(sp.seed_share, 0)} of the variance")
    text = (f"Every run is scored on the same {fmt_int(n)} test images, so one run's accuracy is itself a "
            f"measurement: its exact binomial 95 % interval is about ±{fmt_num(_binomial_half_width(reference), 1)} pts "
            "(per seed in the table above). As an estimate of how a freshly trained network does on new "
            "images, one run is off both by the seed and by the choice of test images: "
            + ("; ".join(parts) + ". " if parts else "one seed gives no seed-to-seed spread. ")
            + "The t-tests compare models on these same images across seeds, so they treat the test "
              "set as fixed.")
    rows = test_set.mcnemar
    if rows:
        ahead = sum(1 for r in rows if r.a_only > r.b_only)
        sig = sum(1 for r in rows if r.p < 0.05)
        detail = "; ".join(f"seed {r.seed}: {fmt_int(r.a_only)} against {fmt_int(r.b_only)}, {fmt_p(r.p)}"
                           for r in rows)
        text += (f" McNemar's exact test asks, per seed, whether the images only one of the two models gets "
                 f"right lean to one side more than chance: the reference CNN gets more of them right in "
                 f"{ahead} of {len(rows)} seeds, with p < 0.05 in {sig} ({detail}).")
    return text


def _binomial_half_width(model: ModelSummary) -> float | None:
    """Half the width of the exact 95 % interval of one run's accuracy, in points (mean over seeds)."""
    widths = [r.test_ci_high - r.test_ci_low for r in model.per_seed
              if r.test_ci_low is not None and r.test_ci_high is not None]
    return 50 * sum(widths) / len(widths) if widths else None


def profile_paragraph(profiles: ProfileNote | None) -> str | None:
    """The title page's note for a quick-profile report: what it left out, what the full one adds."""
    if profiles is None:
        return None
    q, f = profiles.quick, profiles.full

    def images(s: ProfileSettings) -> str:
        return f"a training subset of {fmt_int(s.train_subset)} images" if s.train_subset else "the whole training split"

    adds = []
    if q.train_subset != f.train_subset:
        adds.append(images(f))
    if q.epochs != f.epochs:
        adds.append(f"{f.epochs} epochs")
    if q.seeds != f.seeds:
        adds.append(f"{f.seeds} seeds (narrower intervals, more power in every comparison)")
    text = (f"A quick run: {images(q)}, {q.epochs} epochs, {q.seeds} seeds, sized for a CPU in "
            "minutes; its numbers show the method, not the architectures' full accuracy.")
    if adds:
        listed = adds[0] if len(adds) == 1 else ", ".join(adds[:-1]) + " and " + adds[-1]
        text += f" The full profile uses {listed}: {profiles.command} (best on a GPU)."
    return text


def error_paragraph(errors: ErrorAnalysis) -> str | None:
    """What the best CNN gets wrong most often (None when every CNN run diverged)."""
    mc = errors.most_confused
    if mc is None:
        return None
    return (f"The best CNN ({errors.best_model}) most often mistakes {mc.true} for {mc.predicted} "
            f"({mc.count} test images over {mc.seeds} seeds).")

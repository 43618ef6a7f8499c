"""Paragraphs generated from the study's numbers, and which text is the author's.

Every sentence here states a number computed elsewhere; nothing is asserted that the numbers do
not show (a comparison that goes the "wrong" way is reported as it went). Words follow sign and
size: a negative gap is "0.1 pts below", never "exceeds by −0.1"; "beats" only where the primary
comparison's test says so (results/findings.py). The author's text in
the study file ([text]) is shown beside or instead of these, and report.json's `text_origin` says
which is which.
"""

from __future__ import annotations

from typing import Any

from cnnreport.formatting import fmt_int, fmt_p, fmt_pct, fmt_pm_pct, fmt_pts, fmt_tiny, pts_value
from cnnreport.results.findings import confidence_label, seeds_phrase
from cnnreport.study.schema import Study
from cnnreport.study.specs import DECISIONS


def text_origin(study: Study) -> dict[str, str]:
    """Per section: 'author' when the study file supplies the text, else 'generated'."""
    t = study.text
    given = sum(1 for v in t.rationale.values() if v.strip())
    return {
        "dataset": "author" if t.dataset.strip() else "generated",
        "preprocessing": "author" if t.preprocessing.strip() else "generated",
        "rationale": "author" if given == len(DECISIONS) else ("partial" if given else "missing"),
        "interpretation": "author" if t.interpretation.strip() else "generated",
    }


def generate(*, study: Study, eda: dict[str, Any], baseline: dict[str, Any], reference: dict[str, Any],
             models: list[dict[str, Any]], facts: dict[str, Any], probes: dict[str, Any],
             visuals: dict[str, Any], chance: float, comparisons: list[dict[str, Any]] | None = None,
             test_set: dict[str, Any] | None = None, profiles: dict[str, Any] | None = None) -> dict[str, str]:
    """Every generated paragraph, by key (report.json `generated`)."""
    primary = next((c for c in comparisons or [] if c.get("family") == "primary"), None)
    return {**eda_paragraphs(eda, chance), **baseline_paragraphs(facts),
            **probe_paragraphs(eda, baseline, reference, probes),
            **question_paragraphs(eda, baseline, reference, probes, primary),
            **error_paragraphs(visuals), **test_set_paragraphs(baseline, reference, test_set),
            **profile_paragraphs(profiles)}


def by_points(x: float, more: str, less: str, same: str) -> str:
    """A signed difference of fractions in words chosen by its sign: '2.2 pts above',
    '0.1 pts below', or `same` when it prints as zero."""
    if round(100 * x, 2) == 0:
        return same
    return f"{pts_value(abs(x), False)} pts {more if x > 0 else less}"


def eda_paragraphs(eda: dict[str, Any], chance: float) -> dict[str, str]:
    """Class balance, why the data suits convolution, preprocessing."""
    out: dict[str, str] = {}
    h, w, c = eda["image_shape"]
    corr = eda.get("locality_correlation", {})
    bal = eda.get("balance")
    if bal:
        names = eda["classes"]
        out["balance"] = (
            f"The training split is {bal['verdict']}: the largest class ({names[bal['largest']]}) has "
            f"{bal['ratio']:.2f}× the images of the smallest ({names[bal['smallest']]}), so "
            f"{bal['advice']}. Chance accuracy is {fmt_pct(chance)}.")
    if corr:
        far = max(corr, key=int)
        near = corr.get("1", float("nan"))
        strength = "strongly" if near >= 0.7 else "moderately" if near >= 0.4 else "only weakly"
        out["why_convolution"] = (
            f"Why this data set suits convolution: the images are a regular {h}×{w} grid of "
            f"{c} channel{'s' if c != 1 else ''}, and neighbouring pixels are {strength} related — the "
            f"correlation between horizontally adjacent pixels is {near:.2f}, "
            f"falling to {corr[far]:.2f} at {far} pixels apart. Local patterns (edges, textures, "
            "parts) therefore carry the information, and the same pattern can appear anywhere in the "
            "frame: exactly the two assumptions a convolution makes, local receptive fields and one "
            "set of weights shared across positions.")
    out["preprocessing"] = (
        f"Pixels arrive as {eda['dtype']} in [{eda['pixel_min']}, {eda['pixel_max']}]; a "
        "Rescaling(1/255) layer inside each model maps them to [0, 1], which keeps the first layer's "
        "pre-activations in the range the default initialisation expects, while the saved model still "
        "takes raw pixels (what an endpoint receives). After scaling the per-channel means are "
        + ", ".join(f"{m:.3f}" for m in eda["channel_mean"]) + " and standard deviations "
        + ", ".join(f"{s:.3f}" for s in eda["channel_std"])
        + ": already of order one, so no further standardisation is applied. No augmentation is used, "
        "so that the translation probe below measures what the architecture alone provides.")
    if "layout" in eda:  # an image folder (the built-in sets' paragraphs stay as they are)
        out.update(folder_paragraphs(eda))
    return out


RESIZE_WORDS = {
    "pad": "padded (letterbox): each image scaled to fit whole, its aspect ratio kept, black bars filling the rest",
    "crop": "cropped: the centre kept at the target aspect ratio, the borders beyond it cut off, then scaled",
    "resize": "stretched to the size: the aspect ratio changes wherever it differs",
}
SPLIT_PAIRS = ("train–test", "val–test", "train–val", "train–train", "val–val", "test–test")


def _plural(n: int, word: str, plural: str = "") -> str:
    return f"{fmt_int(n)} {word if n == 1 else plural or word + 's'}"


def folder_paragraphs(eda: dict[str, Any]) -> dict[str, str]:
    """An image folder's origin, problems, channels, sizes and duplicates, in words."""
    lay, prob, ch, rs, sz, dup = (eda[k] for k in ("layout", "problems", "channel_choice", "resize",
                                                   "image_sizes", "duplicates"))
    labels = (f"labels from {lay['csv']} (columns {lay['csv_columns'][0]!r} and {lay['csv_columns'][1]!r})"
              if lay["labels_from"] == "csv" else "one sub-folder per class")
    split = {"folders": "its train/ and test/ parts used as found",
             "csv": "the CSV's split column deciding train and test",
             "study": f"{fmt_pct(lay['test_fraction'] or 0, 0)} of every class held out as the test part (stratified, fixed seed)"}
    problems = (f"{_plural(prob['skipped'], 'file')} skipped (unreadable, empty, undecodable or not an image), "
                f"{_plural(prob['read'], 'file')} read with a note and {_plural(prob['ignored'], 'entry', 'entries')} ignored "
                "as not data (system and tool files and folders), each listed below"
                if prob["files"] else "no file skipped or ignored")
    grey, colour = ch["grey_images"], ch["colour_images"]
    chosen = "grey-scale (1 channel)" if ch["chosen"] == 1 else "colour (3 channels)"
    how = ("as most images are" if ch["setting"] == "auto" else f"as the study sets (data.channels = {ch['setting']})")
    conversion = ("colour images converted to grey by luma (ITU-R 601-2)" if ch["chosen"] == 1
                  else "grey images repeated in the three channels")
    common = ", ".join(f"{a}×{b} ({fmt_int(n)})" for a, b, n in sz["common"][:3])
    leaks = dup["leakage_exact"] + dup["leakage_near"]
    pairs = ", ".join(f"{k} {dup['exact'][k] + dup['near'][k]}" for k in SPLIT_PAIRS
                      if k in dup["exact"] and dup["exact"][k] + dup["near"][k])
    leak_text = (f"{_plural(leaks, 'pair')} ({dup['leakage_exact']} exact, {dup['leakage_near']} near) join a test "
                 f"image to a training or validation image: {_plural(dup['leaked_test_images'], 'test image')} "
                 "leak, so the test accuracy partly measures recall of images the models saw or were chosen on. "
                 "They are flagged, not dropped: remove them from the test part (listed below) and rebuild."
                 if leaks else "No test image duplicates a training or validation image: no leakage found.")
    return {
        "folder_source": (
            f"The images were read from the folder {lay['path']}, {labels}, {split[lay['split_by']]}. Of "
            f"{_plural(lay['files_considered'], 'image file')} tried, {fmt_int(lay['images_loaded'])} were loaded; "
            f"{problems}."),
        "channels": (
            f"Channels: {_plural(grey, 'image')} {'is' if grey == 1 else 'are'} grey-scale (by mode or content) and "
            f"{fmt_int(colour)} colour, so the set is used as {chosen}, {how}; {_plural(ch['converted'], 'image')} "
            f"changed: {conversion}. Transparent pixels are composited on {rs['background']}."),
        "image_sizes": (
            f"Sizes on disk: {_plural(sz['distinct'], 'distinct size')} (most common {common}); heights "
            f"{sz['height']['min']:.0f}–{sz['height']['max']:.0f} px (median {sz['height']['median']:.0f}), widths "
            f"{sz['width']['min']:.0f}–{sz['width']['max']:.0f} px (median {sz['width']['median']:.0f}), aspect ratios "
            f"{sz['aspect']['min']:.2f}–{sz['aspect']['max']:.2f}. Every image is brought to {rs['size'][0]}×{rs['size'][1]} "
            f"pixels, {RESIZE_WORDS[rs['policy']]} (data.resize = \"{rs['policy']}\", {rs['method']} resampling); "
            f"{_plural(rs['changed'], 'image')} changed size, {fmt_int(rs['aspect_changed'])} of them aspect ratio."),
        "duplicates": (
            f"Duplicates among the {fmt_int(dup['images'])} images of the three splits ({dup['method']}): "
            f"{_plural(sum(dup['exact'].values()), 'exact pair')} and {_plural(sum(dup['near'].values()), 'near pair')}"
            + (f" ({pairs})" if pairs else "") + f". {leak_text}"),
    }


def baseline_paragraphs(facts: dict[str, Any]) -> dict[str, str]:
    """The baseline's limits, from its numbers."""
    out: dict[str, str] = {}
    gap = facts["generalisation_gap"]
    parts = []
    if gap.get("mean") is not None:
        if gap["mean"] > 0:
            parts.append(f"its final training accuracy exceeds its validation accuracy by "
                         f"{pts_value(gap['mean'], False)} pts (mean over seeds), the generalisation gap")
        else:
            parts.append(f"its final training accuracy is {by_points(gap['mean'], 'above', 'below', 'equal to')} "
                         f"its validation accuracy (mean over seeds): no generalisation gap at this budget, "
                         f"so these runs show no memorising of the training images")
    if facts["plateau_epoch"]:
        parts.append(f"validation accuracy is within 0.5 pts of its best by epoch "
                     f"{facts['plateau_epoch']} of {facts['epochs']}")
    if facts["params_per_point"]:
        ref = facts["reference_params_per_point"]
        parts.append(f"it spends {fmt_int(facts['params_per_point'])} parameters per percentage point "
                     "of accuracy above chance" + (f" against {fmt_int(ref)} for the reference CNN" if ref else ""))
    share = facts["first_layer_share"]
    out["baseline_limits"] = (
        "Limitations, from the numbers: " + "; ".join(parts) + ". "
        + (f"The first dense layer alone holds {fmt_int(facts['first_layer_params'])} weights "
           f"({fmt_pct(share)} of the model), one per (input pixel, hidden unit) pair: it sees the "
           f"{facts['inputs']:,} inputs as an unordered vector, so it cannot use the fact that "
           "neighbouring pixels belong together, and a pattern learned at one position must be "
           "learned again at every other position." if share else ""))

    return out


def probe_paragraphs(eda: dict[str, Any], baseline: dict[str, Any], reference: dict[str, Any],
                     probes: dict[str, Any]) -> dict[str, str]:
    """One paragraph per inductive-bias probe: translation, equivariance, permutation, sharing."""
    out: dict[str, str] = {}
    _, w, _ = eda["image_shape"]
    tr = probes["translation"]
    k = tr["shifts"][-1]
    tm = tr["models"]
    b_name, r_name = baseline["name"], reference["name"]
    if b_name in tm and r_name in tm:
        b0, bk = tm[b_name]["per_shift"][0], tm[b_name]["per_shift"][-1]
        r0, rk = tm[r_name]["per_shift"][0], tm[r_name]["per_shift"][-1]
        b_drop, r_drop = tm[b_name]["drop"]["mean"], tm[r_name]["drop"]["mean"]
        out["translation"] = (
            f"Shifting the test images by {k} pixels (of {w}) {_moves(b_drop)} the baseline from "
            f"{fmt_pm_pct(b0)} to {fmt_pm_pct(bk)} ({fmt_pts(-b_drop)}) and {_moves(r_drop)} the reference CNN from "
            f"{fmt_pm_pct(r0)} to {fmt_pm_pct(rk)} ({fmt_pts(-r_drop)}); measured on "
            f"{tr['n_images']:,} test images over {len(tm[r_name]['per_seed'])} seeds. "
            + ("The CNN keeps more of its accuracy under shifts. " if r_drop < b_drop
               else "The CNN is not more robust to shifts here: equivariant conv layers are followed by "
                    "a position-specific dense head, so shift robustness is not guaranteed. ")
            + ("Neither model is invariant: convolution gives equivariance, not invariance."
               if b_drop > 0 and r_drop > 0 else "Convolution gives equivariance, not invariance."))
    eq = probes["equivariance"]
    if eq["cnn_layers"]:
        first = eq["cnn_layers"][0]
        e_max = max(r["equivariance"] for r in first["rows"])
        ch = [r["change"] for r in first["rows"]]
        mlp = [r["change"] for r in eq["mlp_rows"]]
        deeper = eq["cnn_layers"][1:]
        deep_txt = ""
        if deeper and deeper[-1]["rows"]:
            last = deeper[-1]
            deep_txt = (f" Deeper, {last['layer']} (downsampled {last['stride']}×) stays equivariant for "
                        f"shifts that are whole pixels of its map: error "
                        f"{fmt_tiny(max(r['equivariance'] for r in last['rows']))}.")
        out["equivariance"] = (
            f"Equivariance on feature maps: shifting the input and then applying {first['layer']} "
            f"gives the shifted feature map up to a relative error {fmt_tiny(e_max)} "
            f"(interior, {eq['n_images']} images), although the map itself changes by "
            f"{min(ch):.0%}–{max(ch):.0%}.{deep_txt} The MLP's first dense layer changes by "
            f"{min(mlp):.0%}–{max(mlp):.0%} under the same shifts, and no rearrangement of its units "
            "undoes it: each unit is tied to absolute pixel positions.")
    pm = probes["permutation"]["models"]
    if b_name in pm and r_name in pm:
        bp, rp = pm[b_name], pm[r_name]
        out["permutation"] = (
            f"Locality: retrained on images whose pixels are shuffled by one fixed permutation, the "
            f"baseline goes from {fmt_pm_pct(bp['normal'])} to {fmt_pm_pct(bp['permuted'])} "
            f"({fmt_pts(bp['change']['mean'])}), the reference CNN from {fmt_pm_pct(rp['normal'])} to "
            f"{fmt_pm_pct(rp['permuted'])} ({fmt_pts(rp['change']['mean'])}). A fixed permutation of the "
            "inputs is just a relabelling of the MLP's input weights, so it loses nothing it relies "
            "on; the CNN's 3×3 neighbourhoods now contain unrelated pixels. " + _margin_change(bp, rp))
        out["permutation"] = out["permutation"].replace("3×3", _kernel_text(reference))
    ws = probes["weight_sharing"]
    if ws:
        f = ws[0]
        out["weight_sharing"] = (
            f"Weight sharing: {f['layer']} maps a {'×'.join(map(str, f['input']))} input to a "
            f"{'×'.join(map(str, f['output']))} map with {fmt_int(f['conv'])} parameters. A locally "
            f"connected layer with the same {f['kernel']}×{f['kernel']} receptive fields but its own "
            f"weights at each of the {f['positions']:,} positions would need {fmt_int(f['locally_connected'])} "
            f"({f['locally_connected'] / f['conv']:,.0f}×), and a dense layer producing the same output "
            f"{fmt_int(f['dense'])} ({f['dense'] / f['conv']:,.0f}×).")

    return out


def _moves(drop: float) -> str:
    """The verb for an accuracy that falls by `drop` (a rise is a negative drop)."""
    return "lowers" if drop > 0 else "raises" if drop < 0 else "leaves unchanged"


def _margin_change(bp: dict[str, Any], rp: dict[str, Any]) -> str:
    """The CNN's margin over the baseline on original and on permuted pixels, and what became of it."""
    normal = rp["normal"]["mean"] - bp["normal"]["mean"]
    permuted = rp["permuted"]["mean"] - bp["permuted"]["mean"]
    text = (f"The CNN's margin over the baseline goes from {fmt_pts(normal)} on original pixels to "
            f"{fmt_pts(permuted)} on permuted ones: ")
    if normal <= 0:
        return text + "there was no advantage to lose."
    if permuted <= 0:
        return text + "its advantage disappears."
    return text + ("its advantage shrinks." if permuted < normal else "its advantage does not shrink here.")


def question_paragraphs(eda: dict[str, Any], baseline: dict[str, Any], reference: dict[str, Any],
                        probes: dict[str, Any], primary: dict[str, Any] | None = None) -> dict[str, str]:
    """The lab's three questions: why convolution wins, its inductive bias, when it does not fit."""
    out: dict[str, str] = {}
    h, w, _ = eda["image_shape"]
    b_name, r_name = baseline["name"], reference["name"]
    pm = probes["permutation"]["models"]
    ws = probes["weight_sharing"]
    eq = probes["equivariance"]
    diff = reference["test_accuracy"]["mean"] - baseline["test_accuracy"]["mean"] \
        if reference["test_accuracy"]["mean"] is not None and baseline["test_accuracy"]["mean"] is not None else None
    if diff is not None:
        ratio = reference["params"] / baseline["params"] if baseline["params"] else None
        q1 = _primary_words(diff, primary, f"({fmt_pm_pct(reference['test_accuracy'])} against "
                                           f"{fmt_pm_pct(baseline['test_accuracy'])})")
        if ratio:
            q1 += f". The CNN has {ratio:.2f}× the baseline's parameters"
        if b_name in pm and r_name in pm and diff > 0:
            normal = pm[r_name]["normal"]["mean"] - pm[b_name]["normal"]["mean"]
            permuted = pm[r_name]["permuted"]["mean"] - pm[b_name]["permuted"]["mean"]
            if permuted < normal:
                q1 += (f". The permutation probe shows where the margin comes from: with the spatial layout "
                       f"destroyed the CNN's margin over the baseline goes from {fmt_pts(normal)} to "
                       f"{fmt_pts(permuted)}, so its advantage is the use of pixel neighbourhoods, not extra capacity")
            else:
                q1 += (f". With the spatial layout destroyed the CNN's margin over the baseline goes from "
                       f"{fmt_pts(normal)} to {fmt_pts(permuted)}: the permutation probe does not tie the "
                       "advantage to pixel neighbourhoods here")
        out["q1"] = q1 + "."
    q2 = []
    if ws:
        q2.append(f"weight sharing (one {ws[0]['kernel']}×{ws[0]['kernel']} kernel reused at "
                  f"{ws[0]['positions']:,} positions: {ws[0]['locally_connected'] / ws[0]['conv']:,.0f}× fewer "
                  "parameters than the same layer without sharing)")
    if reference.get("receptive_field"):
        q2.append(f"local receptive fields (each first-layer unit sees {_kernel_text(reference)} pixels; the "
                  f"last conv layer {reference['receptive_field']}×{reference['receptive_field']} of the "
                  f"{h}×{w} image)")
    if eq["cnn_layers"]:
        q2.append(f"translation equivariance (feature maps shift with the input, relative error "
                  f"{fmt_tiny(max(r['equivariance'] for r in eq['cnn_layers'][0]['rows']))})")
    out["q2"] = ("Its inductive bias has three parts, each measured above: " + "; ".join(q2) + ". "
                 "Together they encode the prior that an image is made of local patterns that may "
                 "occur anywhere, which the model therefore does not have to learn from data.")
    q3 = ("Convolution does not fit data whose inputs have no meaningful neighbourhood: ")
    if b_name in pm and r_name in pm:
        q3 += (f"on permuted pixels the CNN reaches {fmt_pm_pct(pm[r_name]['permuted'])} against the baseline's "
               f"{fmt_pm_pct(pm[b_name]['permuted'])}. ")
    q3 += ("The same holds for tabular features in arbitrary column order, for inputs where absolute "
           "position carries the meaning (a fixed form, a centred sensor reading) so that sharing "
           "weights across positions throws information away, and for very small inputs where the "
           "parameter savings of sharing are negligible.")
    out["q3"] = q3
    return out


def _primary_words(diff: float, c: dict[str, Any] | None, means: str) -> str:
    """Does the reference CNN beat the baseline? In the words the primary comparison's test allows."""
    if c is None or c.get("verdict") in (None, "no test"):
        return (f"The reference CNN is {by_points(diff, 'above', 'below', 'level with')} the baseline in test "
                f"accuracy {means}; without two seeds per model no test says whether it beats it")
    ci = (f"{confidence_label(c['verdict_confidence'])} CI [{pts_value(c['verdict_ci_low'])}, "
          f"{pts_value(c['verdict_ci_high'])}] pts, {fmt_p(c['p'])}, {c['test']}")
    if c["verdict"] == "higher":
        return f"The reference CNN beats the baseline by {pts_value(diff, False)} pts of test accuracy {means}; {ci}"
    if c["verdict"] == "lower":
        return (f"The reference CNN does not beat the baseline here: it is {pts_value(-diff, False)} pts below it "
                f"{means}, a significant difference ({ci})")
    n = min(c["n_a"], c["n_b"])
    if c["verdict"] == "equivalent":
        return (f"The reference CNN does not beat the baseline here: the two are {c['verdict_text']} {means} "
                f"({ci.replace(c['test'], 'TOST')})")
    text = (f"The reference CNN is {by_points(diff, 'above', 'below', 'level with')} the baseline on average "
            f"{means}, but the difference is not significant at {n} seeds ({ci})")
    phrase = seeds_phrase(c.get("power"), diff)
    return text + (f": {phrase}" if phrase else "")


def test_set_paragraphs(baseline: dict[str, Any], reference: dict[str, Any],
                        test_set: dict[str, Any] | None) -> dict[str, str]:
    """How much of the spread comes from seeds and how much from the finite test set."""
    if not test_set or not test_set.get("n_images"):
        return {}
    n = test_set["n_images"]
    spreads = test_set["models"]
    parts = []
    for label, m in (("the reference CNN", reference), ("the baseline", baseline)):
        sp = spreads.get(m["name"])
        if not sp or sp["seed_sd"] is None:
            continue
        parts.append(f"for {label} the seed-to-seed standard deviation is {100 * sp['seed_sd']:.2f} pts "
                     f"against {100 * sp['test_sd']:.2f} pts from the test images, so seeds make "
                     f"{fmt_pct(sp['seed_share'], 0)} of the variance")
    text = (f"Every run is scored on the same {n:,} test images, so one run's accuracy is itself a "
            f"measurement: its exact binomial 95 % interval is about ±{_binomial_half_width(reference, n):.1f} pts "
            "(per seed in the table above). As an estimate of how a freshly trained network does on new "
            "images, one run is off both by the seed and by the choice of test images: "
            + ("; ".join(parts) + ". " if parts else "one seed gives no seed-to-seed spread. ")
            + "The t-tests compare models on these same images across seeds, so they treat the test "
              "set as fixed.")
    rows = test_set.get("mcnemar") or []
    if rows:
        ahead = sum(1 for r in rows if r["a_only"] > r["b_only"])
        sig = sum(1 for r in rows if r["p"] < 0.05)
        detail = "; ".join(f"seed {r['seed']}: {r['a_only']:,} against {r['b_only']:,}, {fmt_p(r['p'])}" for r in rows)
        text += (f" McNemar's exact test asks, per seed, whether the images only one of the two models gets "
                 f"right lean to one side more than chance: the reference CNN gets more of them right in "
                 f"{ahead} of {len(rows)} seeds, with p < 0.05 in {sig} ({detail}).")
    return {"test_set": text}


def _binomial_half_width(model: dict[str, Any], n: int) -> float:
    """Half the width of the exact 95 % interval of one run's accuracy, in points (mean over seeds)."""
    widths = [r["test_ci_high"] - r["test_ci_low"] for r in model.get("per_seed", [])
              if r.get("test_ci_low") is not None]
    return 50 * sum(widths) / len(widths) if widths else float("nan")


def profile_paragraphs(profiles: dict[str, Any] | None) -> dict[str, str]:
    """The title page's note for a quick-profile report: what it left out, what the full one adds."""
    if not profiles:
        return {}
    q, f = profiles["quick"], profiles["full"]

    def images(s: dict[str, Any]) -> str:
        return f"a training subset of {s['train_subset']:,} images" if s["train_subset"] else "the whole training split"

    adds = []
    if q["train_subset"] != f["train_subset"]:
        adds.append(images(f))
    if q["epochs"] != f["epochs"]:
        adds.append(f"{f['epochs']} epochs")
    if q["seeds"] != f["seeds"]:
        adds.append(f"{f['seeds']} seeds (narrower intervals, more power in every comparison)")
    text = (f"A quick run: {images(q)}, {q['epochs']} epochs, {q['seeds']} seeds, sized for a CPU in "
            "minutes; its numbers show the method, not the architectures' full accuracy.")
    if adds:
        listed = adds[0] if len(adds) == 1 else ", ".join(adds[:-1]) + " and " + adds[-1]
        text += f" The full profile uses {listed}: {profiles['command']} (best on a GPU)."
    return {"quick_run": text}


def error_paragraphs(visuals: dict[str, Any]) -> dict[str, str]:
    """What the best CNN gets wrong most often."""
    mc = visuals["most_confused"]
    if mc is None:  # every CNN run diverged: no best model (the report says so in its place)
        return {}
    return {"errors": f"The best CNN ({visuals['best_model']}) most often mistakes {mc['true']} for "
                      f"{mc['predicted']} ({mc['count']} test images over {mc['seeds']} seeds)."}


def _kernel_text(model: dict[str, Any]) -> str:
    first = next((l for l in model["layers"] if l["type"] == "Conv2D"), None)
    return first["kernel"] if first else "k×k"

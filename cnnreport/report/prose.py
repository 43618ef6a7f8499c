"""Paragraphs generated from the study's numbers, and which text is the author's.

Every sentence here states a number computed elsewhere; nothing is asserted that the numbers do
not show (a comparison that goes the "wrong" way is reported as it went). The author's text in
the study file ([text]) is shown beside or instead of these, and report.json's `text_origin` says
which is which.
"""

from __future__ import annotations

from typing import Any

from cnnreport.formatting import fmt_int, fmt_pct, fmt_pm_pct, fmt_pts, fmt_tiny
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
             visuals: dict[str, Any], chance: float) -> dict[str, str]:
    """Every generated paragraph, by key (report.json `generated`)."""
    return {**eda_paragraphs(eda, chance), **baseline_paragraphs(facts),
            **probe_paragraphs(eda, baseline, reference, probes),
            **question_paragraphs(eda, baseline, reference, probes),
            **error_paragraphs(visuals)}


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
        out["why_convolution"] = (
            f"Why this data set suits convolution: the images are a regular {h}×{w} grid of "
            f"{c} channel{'s' if c != 1 else ''}, and neighbouring pixels are strongly related — the "
            f"correlation between horizontally adjacent pixels is {corr.get('1', float('nan')):.2f}, "
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

    return out


def baseline_paragraphs(facts: dict[str, Any]) -> dict[str, str]:
    """The baseline's limits, from its numbers."""
    out: dict[str, str] = {}
    gap = facts["generalisation_gap"]
    parts = []
    if gap.get("mean") is not None:
        parts.append(f"its final training accuracy exceeds validation accuracy by "
                     f"{fmt_pts(gap['mean'])} (mean over seeds), the generalisation gap")
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
        out["translation"] = (
            f"Shifting the test images by {k} pixels (of {w}) lowers the baseline from "
            f"{fmt_pm_pct(b0)} to {fmt_pm_pct(bk)} ({fmt_pts(-tm[b_name]['drop']['mean'])}) and the reference CNN from "
            f"{fmt_pm_pct(r0)} to {fmt_pm_pct(rk)} ({fmt_pts(-tm[r_name]['drop']['mean'])}); measured on "
            f"{tr['n_images']:,} test images over {len(tm[r_name]['per_seed'])} seeds. "
            + ("The CNN keeps more of its accuracy under shifts. " if tm[r_name]['drop']['mean'] < tm[b_name]['drop']['mean']
               else "The CNN is not more robust to shifts here: equivariant conv layers are followed by "
                    "a position-specific dense head, so shift robustness is not guaranteed. ")
            + "Neither model is invariant: convolution gives equivariance, not invariance.")
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
            "on; the CNN's 3×3 neighbourhoods now contain unrelated pixels, and its advantage "
            + ("— absent to begin with here — stays absent." if rp["normal"]["mean"] <= bp["normal"]["mean"] else
               "disappears." if rp["permuted"]["mean"] <= bp["permuted"]["mean"] else
               f"shrinks from {fmt_pts(rp['normal']['mean'] - bp['normal']['mean'])} to "
               f"{fmt_pts(rp['permuted']['mean'] - bp['permuted']['mean'])}."))
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


def question_paragraphs(eda: dict[str, Any], baseline: dict[str, Any], reference: dict[str, Any],
                        probes: dict[str, Any]) -> dict[str, str]:
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
        verb = "beats the baseline by" if diff > 0 else "does not beat the baseline here: the difference is"
        q1 = (f"The reference CNN {verb} {fmt_pts(diff)} of test accuracy "
              f"({fmt_pm_pct(reference['test_accuracy'])} against {fmt_pm_pct(baseline['test_accuracy'])}) with "
              f"{ratio:.2f}× the baseline's parameters" if ratio else "")
        if b_name in pm and r_name in pm:
            q1 += (f". The permutation probe shows where the margin comes from: with the spatial layout "
                   f"destroyed the CNN's margin over the baseline becomes "
                   f"{fmt_pts(pm[r_name]['permuted']['mean'] - pm[b_name]['permuted']['mean'])}, so its advantage is "
                   "the use of pixel neighbourhoods, not extra capacity")
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

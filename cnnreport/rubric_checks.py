"""The automated checks a rubric item can be bound to, by id, each with its own parameters.

A check reads a `Submission` (report.json plus the rendered files) and returns an `Outcome`: the
fraction of the item's points it verified (0..1), the evidence it found, and — when short of
full marks — how to fix it. Checks never raise on a damaged report: the scorer turns a missing
key into a failed item that names it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field

from .submission import Submission, decimals, is_measurement, number_value, numbers_in, squash, words

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REBUILD = "rebuild the report with `cnnreport render --study <study>`"


@dataclass
class Outcome:
    fraction: float  # of the item's points verified, 0..1
    evidence: str
    fix: str = ""


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class CheckDef:
    id: str
    params: type[Params]
    fn: Callable[[Submission, Any], Outcome]
    doc: str


CHECKS: dict[str, CheckDef] = {}


def check(check_id: str, params: type[Params] = Params) -> Callable:
    def register(fn: Callable[[Submission, Any], Outcome]) -> Callable[[Submission, Any], Outcome]:
        CHECKS[check_id] = CheckDef(check_id, params, fn, (fn.__doc__ or "").strip().splitlines()[0])
        return fn
    return register


def ok(evidence: str) -> Outcome:
    return Outcome(1.0, evidence)


def fail(evidence: str, fix: str) -> Outcome:
    return Outcome(0.0, evidence, fix)


# ------------------------------------------------------------------------------------ helpers


def _pm(summary: dict[str, Any] | None, digits: int = 3) -> str:
    if not summary or summary.get("mean") is None:
        return "—"
    if summary.get("std") is None:
        return f"{summary['mean']:.{digits}f} (1 seed)"
    return f"{summary['mean']:.{digits}f} ± {summary['std']:.{digits}f}"


def _label(model: dict[str, Any]) -> str:
    return str(model.get("name", "?"))


def _chance(sub: Submission) -> float:
    chance = sub.get("headline.chance")
    if chance is None:
        chance = 1.0 / int(sub.get("dataset.num_classes"))
    return float(chance)


def _list(text_items: list[str], limit: int = 4) -> str:
    more = f" and {len(text_items) - limit} more" if len(text_items) > limit else ""
    return ", ".join(text_items[:limit]) + more


def _figure_state(sub: Submission, fig_id: str) -> tuple[bool, str, str]:
    """(shown, evidence, fix) for one figure: listed, file present, referenced, in the PDF."""
    fig = next((f for f in sub.get("figures") or [] if isinstance(f, dict) and f.get("id") == fig_id), None)
    if fig is None:
        return False, f"no figure '{fig_id}' in report.json", REBUILD
    rel = str(fig.get("file", ""))
    path = sub.folder / rel
    if not path.is_file():
        return False, f"{rel} is missing from the report folder", f"restore {rel} or {REBUILD}"
    with path.open("rb") as fh:
        if fh.read(8) != PNG_MAGIC:
            return False, f"{rel} is not a PNG image", f"restore {rel} or {REBUILD}"
    size_kb = path.stat().st_size / 1024
    if sub.html is None:
        return False, f"{rel} exists but report.html is missing", REBUILD
    if rel not in sub.html.images:
        return False, f"{rel} exists but report.html does not show it", REBUILD
    where = "report.html"
    if sub.pdf_state == "read":
        caption = str(fig.get("caption", ""))[:60]
        if caption and squash(caption) not in squash(sub.pdf_text or ""):
            return False, f"{rel} shown in report.html but its caption is not in report.pdf", \
                "re-render the PDF: `cnnreport render`"
        where += " and report.pdf"
    return True, f"{rel} ({size_kb:.0f} kB) shown in {where}", ""


def result_values(report: dict[str, Any]) -> list[float]:
    """Every number the results state (models, headline, comparisons, probes), for citations."""
    out: list[float] = []
    skip = {"curves", "layers", "arch", "seeds", "run_ids", "diverged_seeds", "level", "n"}

    def walk(x: Any) -> None:
        if isinstance(x, bool) or x is None:
            return
        if isinstance(x, (int, float)):
            if math.isfinite(x):
                out.append(float(x))
        elif isinstance(x, dict):
            for k, v in x.items():
                if k not in skip:
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    for key in ("models", "headline", "comparisons", "probes", "experiment"):
        walk(report.get(key))
    return out


def cited_numbers(text: str, values: list[float]) -> tuple[list[str], list[str]]:
    """(numbers in text that state a result, numbers that look like results but match none)."""
    cited, unknown = [], []
    for tok in numbers_in(text):
        x, d = number_value(tok), decimals(tok)
        if d == 0 and abs(x) < 100:
            continue  # "3×3", "2 seeds": too common to count as a cited result
        tol = 0.5 * 10 ** -d + 1e-9
        if any(abs(v - x) <= tol or (d >= 1 and abs(100 * v - x) <= tol) for v in values):
            cited.append(tok)
        elif is_measurement(tok):
            unknown.append(tok)
    return cited, unknown


def _text_origin(sub: Submission, section: str, text: str) -> str:
    origin = (sub.get("text_origin") or {}).get(section) if isinstance(sub.get("text_origin"), dict) else None
    return origin or ("author" if text.strip() else "none")


# ------------------------------------------------------------------------------------- checks


class FigureParams(Params):
    id: str


@check("figure", FigureParams)
def figure(sub: Submission, p: FigureParams) -> Outcome:
    """A figure is in report.json, its PNG exists, report.html shows it and report.pdf has its caption."""
    shown, evidence, fix = _figure_state(sub, p.id)
    return Outcome(1.0 if shown else 0.0, evidence, fix)


class ClassBalanceParams(Params):
    figure: str = "class_distribution"


@check("class_balance", ClassBalanceParams)
def class_balance(sub: Submission, p: ClassBalanceParams) -> Outcome:
    """Class counts per split are reported and drawn."""
    counts = sub.get("dataset.class_counts") or {}
    k = int(sub.get("dataset.num_classes") or 0)
    missing = [s for s in ("train", "val", "test") if len(counts.get(s) or []) != k or k == 0]
    if missing:
        return fail(f"class counts missing for {', '.join(missing)}", REBUILD)
    shown, fig_evidence, fix = _figure_state(sub, p.figure)
    train = counts["train"]
    evidence = (f"{k} classes; training class sizes {min(train)}–{max(train)} "
                f"({sub.get('dataset.imbalance_ratio') or max(train) / max(1, min(train)):.2f}×); {fig_evidence}")
    return Outcome(1.0 if shown else 0.0, evidence, fix)


@check("splits")
def splits(sub: Submission, p: Params) -> Outcome:
    """Train, validation (held out of train) and test splits, each non-empty."""
    sizes = sub.get("dataset.sizes") or {}
    empty = [s for s in ("train", "val", "test") if not sizes.get(s)]
    if empty:
        return fail(f"split(s) {', '.join(empty)} empty or missing",
                    "set data.val_fraction > 0 and keep a test set in the study file")
    frac = sub.get("study.data.val_fraction")
    seed = sub.get("study.data.split_seed")
    return ok(f"{sizes['train']:,} train / {sizes['val']:,} validation (fraction {frac} of train, split seed "
              f"{seed}) / {sizes['test']:,} test images; the test set is evaluated once, after training")


class RoleParams(Params):
    role: str = Field(pattern="^(baseline|reference)$")


@check("model", RoleParams)
def model_present(sub: Submission, p: RoleParams) -> Outcome:
    """The baseline (or reference CNN) was trained: finished seeds, parameters, a layer table."""
    m = sub.model(p.role)
    what = "fully connected baseline" if p.role == "baseline" else "reference CNN"
    if m is None:
        return fail(f"no {what} in report.json", f"the study file needs a [{'baseline' if p.role == 'baseline' else 'cnn'}] table")
    n = (m.get("test_accuracy") or {}).get("n") or 0
    if n == 0:
        return fail(f"{_label(m)}: no finished run", "train it: `cnnreport build`")
    if not m.get("params") or not m.get("layers"):
        return fail(f"{_label(m)}: no parameter count or layer table", REBUILD)
    return ok(f"{_label(m)}: {m['params']:,} parameters, {len(m['layers'])} layers, {n} finished seed{'s' if n != 1 else ''}")


@check("architecture", RoleParams)
def architecture(sub: Submission, p: RoleParams) -> Outcome:
    """Layer table with output shapes and parameters; FLOPs; receptive field for a CNN."""
    m = sub.model(p.role)
    if m is None or not m.get("layers"):
        return fail(f"no layer table for the {p.role} model", REBUILD)
    gaps = [str(layer.get("name")) for layer in m["layers"]
            if layer.get("output_shape") is None or layer.get("params") is None]
    if gaps:
        return fail(f"{_label(m)}: layers without output shape or parameters: {_list(gaps)}", REBUILD)
    if m.get("flops") is None:
        return fail(f"{_label(m)}: FLOPs not reported", REBUILD)
    text = f"{_label(m)}: {len(m['layers'])} layers with output shapes and parameters; {m['flops']:,} FLOPs per image"
    if m.get("kind") == "cnn":
        if not m.get("receptive_field"):
            return fail(f"{_label(m)}: receptive field not reported", REBUILD)
        text += f"; receptive field {m['receptive_field']} px"
    return ok(text)


class ChanceParams(Params):
    role: str = Field(default="baseline", pattern="^(baseline|reference)$")


@check("above_chance", ChanceParams)
def above_chance(sub: Submission, p: ChanceParams) -> Outcome:
    """Mean test accuracy above chance (1 / classes)."""
    m = sub.model(p.role)
    acc = (m or {}).get("test_accuracy") or {}
    if acc.get("mean") is None:
        return fail(f"no test accuracy for the {p.role} model", "train it: `cnnreport build`")
    chance = _chance(sub)
    ci = f"; 95 % CI low {acc['ci_low']:.3f}" if acc.get("ci_low") is not None else ""
    text = f"{_label(m)} {_pm(acc)} vs chance {chance:.3f} ({100 * (acc['mean'] - chance):+.1f} pts{ci})"
    if acc["mean"] > chance:
        return ok(text)
    return fail(text, "the baseline learns nothing: check the learning rate and the labels")


class LossParams(Params):
    role: str = Field(default="baseline", pattern="^(baseline|reference)$")
    tolerance: float = Field(default=0.02, ge=0, le=1)  # relative rise still read as a plateau


@check("loss_trend", LossParams)
def loss_trend(sub: Submission, p: LossParams) -> Outcome:
    """Training loss decreases or plateaus (mean over seeds, first vs last epoch)."""
    m = sub.model(p.role)
    curve = (((m or {}).get("curves") or {}).get("loss") or {}).get("mean") or []
    if len(curve) < 2:
        return fail(f"{p.role}: {len(curve)} epoch(s) of training loss — no trend to read",
                    "train for at least 2 epochs (training.epochs)")
    first, last = curve[0], curve[-1]
    if any(v is None or not math.isfinite(v) for v in curve):
        return fail(f"{_label(m)}: training loss is not finite", "lower the learning rate")
    val = (((m.get("curves") or {}).get("val_loss") or {}).get("mean") or [])
    val_text = f"; validation loss {val[0]:.3f} → {val[-1]:.3f}" if len(val) >= 2 else ""
    text = f"{_label(m)}: training loss {first:.3f} → {last:.3f} over {len(curve)} epochs{val_text}"
    if last <= first * (1 + p.tolerance):
        return ok(text + (" (decreasing)" if last < first else " (plateau)"))
    return fail(text + " (rising)", "lower the learning rate or check the data pipeline")


@check("cnn_above_baseline")
def cnn_above_baseline(sub: Submission, p: Params) -> Outcome:
    """Reference CNN's mean test accuracy above the baseline's (or the gap explained, for a reader)."""
    ref, base = sub.model("reference"), sub.model("baseline")
    if not ref or not base or (ref.get("test_accuracy") or {}).get("mean") is None \
            or (base.get("test_accuracy") or {}).get("mean") is None:
        return fail("reference CNN or baseline has no test accuracy", "train both: `cnnreport build`")
    diff = ref["test_accuracy"]["mean"] - base["test_accuracy"]["mean"]
    text = f"{_label(ref)} {_pm(ref['test_accuracy'])} vs {_label(base)} {_pm(base['test_accuracy'])} ({100 * diff:+.1f} pts)"
    comp = next((c for c in sub.get("comparisons") or [] if isinstance(c, dict)
                 and c.get("kind") == "cnn_vs_baseline"), None)
    if comp and comp.get("p_holm", comp.get("welch_p")) is not None:
        text += f"; {comp.get('test', 'test')} p = {comp.get('p_holm', comp.get('welch_p')):.3g}"
    if diff > 0:
        return ok(text)
    return fail(text + ": the CNN is not above the baseline",
                "train longer or on more data; or explain the gap in text.interpretation (a human reader judges it)")


class GeneratedParams(Params):
    accept_generated: bool = False  # text cnnreport wrote for the author earns nothing by default


@check("justification", GeneratedParams)
def justification(sub: Submission, p: GeneratedParams) -> Outcome:
    """Share of the CNN design decisions the author justified (partial credit)."""
    rows = [r for r in sub.get("rationale") or [] if isinstance(r, dict)]
    if not rows:
        return fail("no design-decision table in report.json", REBUILD)
    origin = _text_origin(sub, "rationale", "x" if any(not r.get("missing") for r in rows) else "")
    if origin == "generated" and not p.accept_generated:
        return fail("the design justifications were generated by cnnreport, not written by the author",
                    "write text.rationale.<decision> in the study file")
    missing = [str(r.get("decision")) for r in rows if r.get("missing") or not str(r.get("justification", "")).strip()]
    done = len(rows) - len(missing)
    text = f"{done} of {len(rows)} design decisions justified"
    if not missing:
        return ok(text)
    return Outcome(done / len(rows), f"{text}; missing: {_list(missing, 10)}",
                   "write text.rationale.<decision> in the study file for each missing decision")


class VariantsParams(Params):
    min_levels: int = Field(default=4, ge=1)
    figure: str = "variant_curves"


@check("variants", VariantsParams)
def variants(sub: Submission, p: VariantsParams) -> Outcome:
    """The controlled experiment compares at least N levels of one factor, drawn on one plot."""
    exp = sub.get("experiment") or {}
    names = set(exp.get("models") or [])
    trained = [m for m in sub.models() if m.get("name") in names and (m.get("test_accuracy") or {}).get("n")]
    labels = exp.get("level_labels") or [str(v) for v in exp.get("levels") or []]
    factor = str(exp.get("factor", "?")).replace("_", " ")
    seeds = sorted({(m.get("test_accuracy") or {}).get("n") for m in trained})
    text = f"{len(trained)} levels of {factor} ({_list(labels, 6)}) × {'/'.join(map(str, seeds)) or 0} seeds"
    if len(trained) < p.min_levels:
        return fail(text + f": fewer than {p.min_levels}",
                    f"list at least {p.min_levels} levels (the reference's included) in experiment.levels")
    shown, fig_evidence, fix = _figure_state(sub, p.figure)
    if not shown:
        return fail(f"{text}; the plot of all variants is not shown: {fig_evidence}", fix)
    return ok(f"{text}, all on one plot ({p.figure})")


# The architecture keys one experimental factor may change (depth changes the block list itself).
FACTOR_KEYS = {"kernel_size": {"kernel_size"}, "filters": {"filters"}, "stride": {"stride"},
               "pooling": {"pooling"}, "depth": {"depth"}}


def arch_differences(ref: Any, other: Any, path: str = "") -> list[tuple[str, str]]:
    """(path, variable) for every architecture setting that differs; variable = the leaf key."""
    if isinstance(ref, dict) and isinstance(other, dict):
        out = []
        for k in sorted(set(ref) | set(other), key=str):
            out += arch_differences(ref.get(k), other.get(k), f"{path}.{k}" if path else str(k))
        return out
    if isinstance(ref, list) and isinstance(other, list):
        if path.endswith("blocks") and len(ref) != len(other):
            # Extra blocks are what a depth change adds; compare only the blocks both have.
            return [(path, "depth")] + [d for a, b in zip(ref, other)
                                        for d in arch_differences(a, b, f"{path}[]")]
        if len(ref) != len(other):
            return [(path, path.rsplit(".", 1)[-1])]
        return [d for i, (a, b) in enumerate(zip(ref, other))
                for d in arch_differences(a, b, f"{path}[{i}]")]
    if ref != other:
        return [(path, path.rsplit(".", 1)[-1].split("[")[0])]
    return []


@check("controlled")
def controlled(sub: Submission, p: Params) -> Outcome:
    """Only the experiment's factor differs between each variant and the reference CNN."""
    exp = sub.get("experiment") or {}
    factor = str(exp.get("factor"))
    ref = sub.model("reference")
    if ref is None or not isinstance(ref.get("arch"), dict):
        return fail("no reference CNN architecture in report.json", REBUILD)
    allowed = FACTOR_KEYS.get(factor, {factor})
    variants_ = sub.models("variant")
    if not variants_:
        return fail("no variants: the experiment compares nothing", "list several levels in experiment.levels")
    bad = []
    for v in variants_:
        changed = sorted({var for _, var in arch_differences(ref["arch"], v.get("arch") or {})})
        extra = [c for c in changed if c not in allowed]
        if extra or not changed:
            what = f"also changes {', '.join(extra)}" if extra else "changes nothing"
            bad.append(f"{_label(v)} {what}")
    stated = exp.get("controlled")
    # The declared factor's own differences are the experiment; others must be accepted.
    unaccepted = [d for d in exp.get("differences") or [] if isinstance(d, dict)
                  and not d.get("declared", False) and not d.get("accepted", False)]
    if stated is False or unaccepted:
        bad += [f"{d.get('model')}: {d.get('key')} {d.get('reference')} → {d.get('variant')}" for d in unaccepted] \
            or ["report.json says the experiment is not controlled"]
    f_text = factor.replace("_", " ")
    if bad:
        return fail(f"more than {f_text} varies: {_list(bad)}",
                    f"change only {f_text} between variants (one factor in [experiment])")
    note = {True: "; report.json's own verification agrees", None: "; report.json carries no verification of its own"}.get(stated, "")
    return ok(f"only {f_text} differs between the {len(variants_)} variants and the reference "
              f"(checked on each model's architecture){note}")


@check("verification")
def verification(sub: Submission, p: Params) -> Outcome:
    """The report shows the controlled-variable verification table (what differs, params, FLOPs)."""
    rows = sub.get("experiment.verification")
    if not rows:
        return fail("report.json has no experiment.verification table",
                    "rebuild with a cnnreport that verifies the controlled variable (`cnnreport render`)")
    n_cnn = len(sub.get("experiment.models") or [])
    if len(rows) < max(1, n_cnn - 1):
        return fail(f"verification table has {len(rows)} rows for {n_cnn} CNNs", REBUILD)
    return ok(f"verification table: {len(rows)} rows (what differs, parameters, FLOPs, output shapes, receptive field)")


class SeedsParams(Params):
    min_seeds: int = Field(default=2, ge=1)
    require_std: bool = True  # mean ± std needs two seeds or more


@check("seeds", SeedsParams)
def seeds(sub: Submission, p: SeedsParams) -> Outcome:
    """Every model reported over at least N finished seeds, as mean ± std."""
    ms = sub.models()
    if not ms:
        return fail("no models in report.json", REBUILD)
    short = [f"{_label(m)} has {(m.get('test_accuracy') or {}).get('n', 0)}" for m in ms
             if ((m.get("test_accuracy") or {}).get("n") or 0) < p.min_seeds]
    no_std = [_label(m) for m in ms if p.require_std and (m.get("test_accuracy") or {}).get("std") is None]
    counts = sorted({(m.get("test_accuracy") or {}).get("n") or 0 for m in ms})
    text = f"{len(ms)} models × {'/'.join(map(str, counts))} seeds"
    if short:
        return fail(f"{text}; fewer than {p.min_seeds} seeds: {_list(short)}",
                    f"list at least {p.min_seeds} seeds in the study's `seeds`")
    if no_std:
        return fail(f"{text}; no std for {_list(no_std)}", "list at least 2 seeds in the study's `seeds`")
    return ok(f"{text}; test accuracy as mean ± std (ddof = 1) with 95 % t-intervals")


@check("runs_complete")
def runs_complete(sub: Submission, p: Params) -> Outcome:
    """Every planned run finished, none diverged (the lab's 'runs without errors')."""
    study_seeds = list(sub.get("study.seeds") or [])
    ms = sub.models()
    missing = [f"{_label(m)} seed {s}" for m in ms for s in study_seeds if s not in (m.get("seeds") or [])]
    diverged = [f"{_label(m)} seed {s}" for m in ms for s in m.get("diverged_seeds") or []]
    runs = [r for r in sub.get("runs") or [] if isinstance(r, dict) and r.get("probe", "none") == "none"]
    planned = len(ms) * len(study_seeds)
    if missing:
        return fail(f"runs missing: {_list(missing)}", "finish training: `cnnreport build`")
    if diverged:
        return fail(f"{len(diverged)} run(s) diverged (loss became NaN): {_list(diverged)}",
                    "lower the learning rate and rebuild")
    if planned == 0:
        return fail("no runs in report.json", "train the study: `cnnreport build`")
    return ok(f"{len(runs)} of {planned} runs finished, none diverged")


@check("statistics")
def statistics(sub: Submission, p: Params) -> Outcome:
    """Significance tests: CNN vs baseline and each variant vs the reference, corrected, with effect sizes."""
    comps = [c for c in sub.get("comparisons") or [] if isinstance(c, dict)]
    if not comps:
        return fail("report.json has no comparisons (significance tests)",
                    "rebuild with a cnnreport that compares models (`cnnreport render`)")
    kinds = {c.get("kind") for c in comps}
    n_var = len(sub.models("variant"))
    vs_ref = [c for c in comps if c.get("kind") == "variant_vs_reference"]
    gaps = []
    if "cnn_vs_baseline" not in kinds:
        gaps.append("no CNN-vs-baseline comparison")
    if len(vs_ref) < n_var:
        gaps.append(f"{len(vs_ref)} of {n_var} variants compared with the reference")
    if any(c.get("p_holm") is None for c in comps):
        gaps.append("p-values not corrected for multiple comparisons (p_holm)")
    if any(min(c.get("n_a") or 0, c.get("n_b") or 0) < 2 for c in comps):
        gaps.append("a comparison rests on fewer than 2 seeds per model")
    if any(c.get("hedges_g") is None for c in comps):
        gaps.append("no effect size (hedges_g)")
    tests = sorted({str(c.get("test")) for c in comps if c.get("test")})
    text = f"{len(comps)} comparisons; {', '.join(tests) or 'test not named'}"
    if gaps:
        return fail(f"{text}; {'; '.join(gaps)}", "needs enough seeds (≥ 2) per model and a rebuild")
    return ok(f"{text}, Holm-corrected p-values, Hedges' g, 95 % CI of each difference")


class ProbesParams(Params):
    keys: list[str] = Field(default=["translation", "permutation", "weight_sharing", "equivariance"], min_length=1)


@check("probes", ProbesParams)
def probes(sub: Submission, p: ProbesParams) -> Outcome:
    """Inductive-bias probes reported (partial credit per probe)."""
    got = sub.get("probes") if isinstance(sub.get("probes"), dict) else {}
    present = [k for k in p.keys if got.get(k)]
    missing = [k for k in p.keys if k not in present]
    text = f"{len(present)} of {len(p.keys)} probes reported" + (f": {', '.join(present)}" if present else "")
    if missing:
        return Outcome(len(present) / len(p.keys), f"{text}; missing {', '.join(missing)}",
                       "rebuild with a cnnreport that runs the inductive-bias probes (`cnnreport build`)")
    return ok(text)


class InterpretationParams(GeneratedParams):
    min_words: int = Field(default=80, ge=0)


def interpretation_text(sub: Submission) -> tuple[str, str]:
    """(text, origin): the author's interpretation, else the rendered section's generated text."""
    text = str(sub.get("text.interpretation") or "")
    origin = _text_origin(sub, "interpretation", text)
    if not text.strip() and origin == "generated" and sub.html is not None:
        pending = set(sub.html.pending.get("interpretation", []))
        text = " ".join(t for t in sub.html.sections.get("interpretation", [])[1:] if t not in pending)
    return text, origin


@check("interpretation", InterpretationParams)
def interpretation(sub: Submission, p: InterpretationParams) -> Outcome:
    """An interpretation written by the author, of at least N words."""
    text, origin = interpretation_text(sub)
    n = len(words(text))
    fix = "write text.interpretation in the study file (why the CNN beats the MLP: inductive bias)"
    if origin == "none" or n == 0:
        return fail("no interpretation written (text.interpretation is empty)", fix)
    if origin == "generated" and not p.accept_generated:
        return fail(f"the interpretation ({n} words) was generated by cnnreport, not written by the author", fix)
    if n < p.min_words:
        return fail(f"{origin}'s interpretation: {n} words (fewer than {p.min_words})", fix)
    return ok(f"{origin}'s interpretation: {n} words")


class CitesParams(GeneratedParams):
    min_numbers: int = Field(default=2, ge=1)


@check("cites_results", CitesParams)
def cites_results(sub: Submission, p: CitesParams) -> Outcome:
    """The interpretation cites numbers that are in the results."""
    text, origin = interpretation_text(sub)
    if origin == "generated" and not p.accept_generated:
        text = ""
    cited, unknown = cited_numbers(text, result_values(sub.report))
    text_ = f"cites {len(cited)} number(s) from the results" + (f" ({_list(cited, 6)})" if cited else "")
    if unknown:
        text_ += f"; {len(unknown)} number(s) not in report.json: {_list(unknown)}"
    if len(cited) >= p.min_numbers:
        return ok(text_)
    return fail(text_, f"quote at least {p.min_numbers} results (accuracies, differences, parameter counts) "
                       "in text.interpretation")


@check("integrity")
def integrity(sub: Submission, p: Params) -> Outcome:
    """No number edited by hand: HTML = report.json, PDF ⊆ HTML, report.json = its runs."""
    from .integrity import verify

    result = verify(sub)
    if result.ok:
        return ok(result.summary())
    return fail(result.summary(), "rebuild with `cnnreport render`; never edit the report's numbers by hand")


class SectionsParams(Params):
    ids: list[str] = Field(default=["data", "baseline", "cnn", "experiment", "interpretation",
                                    "deployment", "reproducibility"], min_length=1)


@check("sections", SectionsParams)
def sections(sub: Submission, p: SectionsParams) -> Outcome:
    """Every report section is in report.html and in report.pdf."""
    if sub.html is None:
        return fail("report.html missing or unreadable", REBUILD)
    missing_html = [s for s in p.ids if s not in sub.html.headings]
    if missing_html:
        return fail(f"sections missing from report.html: {', '.join(missing_html)}", REBUILD)
    state = sub.pdf_state
    if state == "skipped":
        return ok(f"{len(p.ids)} sections in report.html (the PDF is rendered after this check)")
    if state != "read":
        return fail(f"{len(p.ids)} sections in report.html; report.pdf {state}",
                    "render the PDF: `cnnreport render` (without --no-pdf)")
    pdf = squash(sub.pdf_text or "")
    missing_pdf = [sub.html.headings[s] for s in p.ids if squash(sub.html.headings[s]) not in pdf]
    if missing_pdf:
        return fail(f"sections missing from report.pdf: {', '.join(missing_pdf)}", "re-render: `cnnreport render`")
    return ok(f"{len(p.ids)} sections in report.html and report.pdf ({len(sub.pdf_pages or [])} pages)")


@check("captions")
def captions(sub: Submission, p: Params) -> Outcome:
    """Every figure has a caption and alt text."""
    figs = [f for f in sub.get("figures") or [] if isinstance(f, dict)]
    if not figs:
        return fail("no figures in report.json", REBUILD)
    bad = [str(f.get("id")) for f in figs if len(words(str(f.get("caption", "")))) < 3 or not str(f.get("alt", "")).strip()]
    if bad:
        return Outcome(0.0, f"figures without caption or alt text: {', '.join(bad)}", REBUILD)
    return ok(f"{len(figs)} figures, each with a caption and alt text")


class ExtraFiguresParams(Params):
    min: int = Field(default=2, ge=1)
    standard: list[str] = ["samples", "class_distribution", "image_dimensions", "preprocessing",
                           "curves_baseline", "curves_reference", "variant_curves", "accuracy_bars"]


@check("extra_figures", ExtraFiguresParams)
def extra_figures(sub: Submission, p: ExtraFiguresParams) -> Outcome:
    """Visualisations beyond the required ones (feature maps, filters, probes), each shown."""
    extra = [str(f.get("id")) for f in sub.get("figures") or []
             if isinstance(f, dict) and f.get("id") not in p.standard]
    shown = [fid for fid in extra if _figure_state(sub, fid)[0]]
    text = f"{len(shown)} figure(s) beyond the required ones" + (f": {_list(shown, 6)}" if shown else "")
    if len(shown) >= p.min:
        return ok(text)
    return fail(text, "add visualisations: feature maps, learned filters, probe results")


class TextParams(Params):
    source: str = Field(pattern="^(dataset|preprocessing|interpretation|rationale)$")
    concepts: dict[str, list[str]] = {}  # concept -> phrases that count as mentioning it


@check("text_found", TextParams)
def text_found(sub: Submission, p: TextParams) -> Outcome:
    """What a human reader will find in a piece of the author's text (never earns points)."""
    if p.source == "interpretation":
        text, origin = interpretation_text(sub)
    elif p.source == "rationale":
        rows = [r for r in sub.get("rationale") or [] if isinstance(r, dict)]
        text = " ".join(str(r.get("justification", "")) for r in rows if not r.get("missing"))
        origin = _text_origin(sub, "rationale", text)
    else:
        text = str(sub.get(f"text.{p.source}") or "")
        origin = _text_origin(sub, p.source, text)
    n = len(words(text))
    if n == 0:
        return Outcome(0.0, f"nothing written (text.{p.source} is empty)")
    parts = [f"{n} words" + (" (generated by cnnreport)" if origin == "generated" else "")]
    if p.concepts:
        low = text.lower()
        found = [c for c, phrases in p.concepts.items() if any(ph.lower() in low for ph in phrases)]
        parts.append(f"mentions {', '.join(found)}" if found else "mentions none of "
                     + ", ".join(p.concepts))
    cited, _ = cited_numbers(text, result_values(sub.report))
    parts.append(f"cites {len(cited)} number(s) from the results")
    return Outcome(0.0, "; ".join(parts))


def check_ids() -> list[str]:
    return sorted(CHECKS)

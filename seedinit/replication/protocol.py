"""The reproduction protocol (the paper's section 4, made precise) as two stages of runs.

Stage 1, per dataset and ratio: MSRA and the seed filters at every delta of ``DELTAS``,
trained on the training subset minus a stratified validation part (``VAL_FRACTION``),
``FEW_SEEDS``, a fixed number of epochs (``EPOCHS``); and, at r = ``STUDY_RATIO``, the
interpretation and sensitivity studies, on the same fixed schedule.
Stage 2: each cell's delta is the one with the best mean validation Q3/4 (never the
test set); MSRA and the seed filters at that delta train on the whole subset, ``SEEDS``
each, plus delta = 0.3 on MNIST r = 10 %, until their training loss converges
(``Config.stop``, at most ``CAP`` epochs), or, with ``schedule="fixed"``, on the fixed
schedule beside the control arm (``random="he"``); and, with the studies, the delta
grid's check (the chosen delta and its neighbours until converged), the schedule study
(the CIFAR cells at r = ``STUDY_RATIO``, ``LONG`` times the fixed schedule), the
comparison study and the ResNet study. Stage 1's studies add the baseline study and the
repaired reading's delta grid.

In either stage, a run trained until converged that reaches the cap is trained again with
``EXTEND`` times the cap (``extended``), and a run recorded with a larger cap is not trained again with a smaller
one (``runs.recorded_in``, which the sweep asks). Each run's ``Config.role`` says what it is for: ``delta-grid``,
``table2`` or ``study:<name>``.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..config import Config
from ..options import ConfigError
from ..records import load_records
from .runs import arm_label, best_deltas, cell_label, grid_rows

PAPER_DATASETS = ("mnist", "cifar10", "cifar100")
RATIOS = (0.01, 0.05, 0.1)
# the fixed schedule, set before any result; Q3/4 counts the last half of the epochs (Config.window)
EPOCHS = {0.01: 300, 0.05: 80, 0.1: 40}
# the convergence protocol: Config's criterion and scoring window, capped at five times the fixed schedule; a run that
# reaches the cap is trained again with EXTEND times the cap (``extended``), and one that reaches that too is not converged
UNTIL_CONVERGED: dict[str, Any] = {"stop": "converged"}
CAP = {ratio: 5 * epochs for ratio, epochs in EPOCHS.items()}
EXTEND = 2
DELTAS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
VAL_FRACTION = 0.2
SEEDS = tuple(range(10))
FEW_SEEDS = (0, 1, 2)
PAPER_DELTA = 0.3  # the paper's collapse: MNIST, r = 10 %, delta = 0.3
STUDY_DATASETS = ("mnist", "cifar10")
STUDY_RATIO = 0.1
STUDY_DELTAS = (0.1, 0.3, 0.5, 0.9)
VARIANTS: dict[str, dict[str, Any]] = {  # readings of Algorithm 1 (zero-mean is ours, not the paper's)
    "paper (top-k)": {},
    "diverse": {"selection": "diverse"},
    "zero-mean": {"zero_mean": True},
    "diverse, zero-mean": {"selection": "diverse", "zero_mean": True},
    "mask gate": {"gate": "mask"},
    "He-scaled random part": {"random": "he"},
}
LONG = 3  # the schedule study's multiple of the protocol's epochs
SCHEDULE_DATASETS = ("cifar10", "cifar100")
SENSITIVITY = {"theta": (0.5, 0.9), "epsilon": (0.25, 0.75), "radius": (1, 3)}  # one at a time, at delta 0.5
# the baseline study (MSRA, MNIST, convergence protocol): training-set sizes besides Table 2's 600 and 6,000 (the paper's
# section 5 says "5,600" for r = 1 %), and Caffe's LeNet settings at r = 10 %, alone and together: where does 98.71 % come from?
BASELINE_SIZES = (5600, 12000, 60000)
CAFFE = {"500-unit head": {"hidden": (500,)}, "no conv ReLU": {"conv_relu": False}, "standardized inputs": {"inputs": "standard"}}
CAFFE["all three"] = {k: v for setting in CAFFE.values() for k, v in setting.items()}


def cell_run(dataset: str, ratio: float, role: str, **settings: Any) -> Config:
    """A run of the protocol's cell (dataset, ratio) for ``role``, on the fixed schedule of that ratio unless ``settings`` say otherwise."""
    if ratio not in EPOCHS:
        raise ConfigError(f"protocol: ratio={ratio!r} is not allowed; the protocol's ratios are {', '.join(map(str, EPOCHS))}")
    return Config.from_dict({"dataset": dataset, "ratio": ratio, "epochs": EPOCHS[ratio], "role": role, **settings}, source="protocol")


def selection_runs(dataset: str, ratio: float) -> list[Config]:
    """Stage 1: the delta grid (and MSRA) with a validation split, to choose delta."""
    arms = [{"init": "msra"}] + [{"init": "seed", "delta": d} for d in DELTAS]
    return [cell_run(dataset, ratio, "delta-grid", val_fraction=VAL_FRACTION, seed=s, **a) for a in arms for s in FEW_SEEDS]


def study_runs(dataset: str) -> list[Config]:
    """Stage 1: readings of Algorithm 1 across delta, and theta/epsilon/r_t one at a time, beside MSRA (fixed schedule)."""
    at = functools.partial(cell_run, dataset, STUDY_RATIO)
    runs = [at("study:interpretation", init="msra", seed=s) for s in FEW_SEEDS]
    for v in VARIANTS.values():
        runs += [at("study:interpretation", init="seed", delta=d, seed=s, **v) for d in STUDY_DELTAS for s in FEW_SEEDS]
    for name, values in SENSITIVITY.items():
        runs += [at("study:sensitivity", init="seed", delta=0.5, seed=s, **{name: v}) for v in values for s in FEW_SEEDS]
    return runs


def main_runs(dataset: str, ratio: float, delta: float, stop: str = "converged") -> list[Config]:
    """Stage 2: MSRA and the seed filters at the chosen delta (and the paper's delta = 0.3 case), all seeds, trained
    until converged; ``stop="fixed"``: the fixed schedule, with the control arm (He-scaled random part) too."""
    arms = [{"init": "msra"}, {"init": "seed", "delta": delta}]
    arms += [{"init": "seed", "delta": delta, "random": "he"}] if stop == "fixed" else []
    arms += [{"init": "seed", "delta": PAPER_DELTA}] if (dataset, ratio) == ("mnist", 0.1) else []
    until = {**UNTIL_CONVERGED, "epochs": CAP[ratio]} if stop == "converged" else {}
    return [cell_run(dataset, ratio, "table2", seed=s, **a, **until) for a in arms for s in SEEDS]


def schedule_runs(dataset: str, delta: float) -> list[Config]:
    """Stage 2's schedule study: MSRA and the seed filters at the chosen delta, ``LONG`` times the epochs: slow, or worse?"""
    epochs = LONG * EPOCHS[STUDY_RATIO]
    arms = [{"init": "msra"}, {"init": "seed", "delta": delta}]
    return [cell_run(dataset, STUDY_RATIO, "study:schedule", epochs=epochs, seed=s, **a) for a in arms for s in FEW_SEEDS]


def chosen_deltas(records: list[dict], arm: str = "seed") -> dict[tuple[str, float], float]:
    """Each cell's delta for the seed-filter reading ``arm``: its best mean validation Q3/4 over the delta grid
    (stage 1), once the grid's ``DELTAS`` x ``FEW_SEEDS`` runs are all recorded (a partial grid chooses nothing)."""
    best = best_deltas(grid_rows(records), "val_q34", arm)
    return {cell: b["delta"] for cell, b in best.items() if b["runs"] >= len(DELTAS) * len(FEW_SEEDS)}


def grid_runs(
    datasets: list[str], ratios: list[float], inits: list[str], deltas: list[float], seeds: list[int], epochs: int | str
) -> list[Config]:
    """A product grid (the experiment notebook's): each init (the seed filters at each delta) and RNG seed, trained
    ``epochs`` epochs or, with ``epochs="converged"``, until converged, capped as the protocol's nearest ratio."""
    runs = []
    for d, r, init, delta, s in itertools.product(datasets, ratios, inits, deltas if "seed" in inits else deltas[:1], seeds):
        until = {**UNTIL_CONVERGED, "epochs": CAP[min(CAP, key=lambda q: abs(q - r))]} if epochs == "converged" else {"epochs": epochs}
        runs.append(Config.from_dict({"dataset": d, "ratio": r, "init": init, "delta": delta, "seed": s, **until}, source="grid"))
    return list({(c.key(), c.seed): c for c in runs}.values())  # an MSRA run once, whatever the deltas


def neighbour_runs(dataset: str, ratio: float, delta: float) -> list[Config]:
    """The delta grid's check: the seed filters at the chosen delta and its neighbours in ``DELTAS``, with the validation
    split and ``FEW_SEEDS``, trained until converged; the fixed schedule's choice stands if these choose the same delta."""
    i = DELTAS.index(delta)
    until = {**UNTIL_CONVERGED, "epochs": CAP[ratio], "val_fraction": VAL_FRACTION, "init": "seed"}
    return [cell_run(dataset, ratio, "delta-grid", delta=d, seed=s, **until) for d in DELTAS[max(0, i - 1) : i + 2] for s in FEW_SEEDS]


def extended(runs: Iterable[Config], records: list[dict]) -> list[Config]:
    """The ``runs`` whose record reached the cap unconverged (not diverged), again with ``EXTEND`` times the cap: the
    same run for its first epochs (the cap only decides when to stop), given the room to converge."""
    capped = {
        Config.from_dict(r["config"]).run_name()
        for r in records
        if r["config"].get("stop") == "converged" and r.get("converged_at") is None and not r.get("diverged")
    }
    return [c.replace(epochs=EXTEND * c.epochs) for c in runs if c.stop == "converged" and c.run_name() in capped]


def baseline_runs() -> list[Config]:
    """The baseline study: MSRA on MNIST until converged, ``FEW_SEEDS`` each, at each size and with each Caffe setting."""
    until = {**UNTIL_CONVERGED, "epochs": CAP[0.1], "dataset": "mnist", "role": "study:baseline"}
    runs = [Config.from_dict({**until, "ratio": n / 60000, "seed": s}) for n in BASELINE_SIZES for s in FEW_SEEDS]
    return runs + [Config.from_dict({**until, "ratio": 0.1, "seed": s, **c}) for c in CAFFE.values() for s in FEW_SEEDS]


def stage1_runs(datasets: Iterable[str], ratios: Iterable[float], studies: bool = True) -> list[Config]:
    """Stage 1: the delta grid of every cell, and the studies of the study datasets (with MNIST, the baseline study;
    in the comparison's cells, the repaired reading's delta grid)."""
    datasets = list(datasets)
    runs = [c for d in datasets for r in ratios for c in selection_runs(d, r)]
    if studies:
        runs += [c for d in datasets if d in STUDY_DATASETS for c in study_runs(d)]
        runs += baseline_runs() if "mnist" in datasets else []
        runs += [c for d, r in COMPARISON_CELLS if d in datasets and r in ratios for c in repaired_grid_runs(d, r)]
    return runs


def stage2_cell(dataset: str, ratio: float, delta: float, studies: bool = True, schedule: str = "converged") -> list[Config]:
    """Stage 2's runs of one cell at its chosen delta: the Table-2 arms (trained as ``schedule`` says) and, with
    ``studies``, the delta grid's check and the schedule study's."""
    runs = main_runs(dataset, ratio, delta, schedule)
    if studies:
        runs += neighbour_runs(dataset, ratio, delta)
    if studies and dataset in SCHEDULE_DATASETS and ratio == STUDY_RATIO:
        runs += schedule_runs(dataset, delta)
    return runs


def stage2_runs(
    datasets: Iterable[str],
    ratios: Iterable[float],
    records: list[dict],
    log: Callable[[str], Any] = print,
    studies: bool = True,
    schedule: str = "converged",
) -> list[Config]:
    """Stage 2: the Table-2 arms of every cell whose delta the recorded stage 1 chose; with ``studies``, the schedule study,
    the comparison study (its cells among these), the ResNet study (with CIFAR-10 at r = 10 %) and, with r = 10 %, the
    whole-training-set study."""
    deltas = chosen_deltas(records)
    runs = []
    for d in datasets:
        for r in ratios:
            if (d, r) not in deltas:
                log(f"{cell_label(d, r)}: its delta grid (stage 1) is not complete, so no delta chosen; stage 2 skips this cell")
                continue
            log(f"{cell_label(d, r)}: delta = {deltas[d, r]:g}, chosen on validation")
            runs += stage2_cell(d, r, deltas[d, r], studies, schedule)
    if studies:
        runs += [c for c in comparison_runs(records) if c.dataset in datasets and c.ratio in ratios]
        runs += resnet_runs(records) if "cifar10" in datasets and STUDY_RATIO in ratios else []
        runs += [c for c in full_set_runs(records) if c.dataset in datasets] if STUDY_RATIO in ratios else []
    return runs


def planned(datasets: list[str], ratios: list[float], records: list[dict], studies: bool = True) -> list[Config]:
    """Both stages' runs as the records stand (stage 2's only in the cells whose delta grid is complete)."""
    return stage1_runs(datasets, ratios, studies) + stage2_runs(datasets, ratios, records, lambda _: None, studies)


def reproduce(
    datasets: Iterable[str],
    ratios: Iterable[float],
    out: str | Path,
    run: Callable[[list[Config]], Any],
    studies: bool = True,
    stages: Iterable[int] = (1, 2),
    log: Callable[[str], Any] = print,
    schedule: str = "converged",
    dry_run: bool = False,
) -> None:
    """Run the ``stages`` through ``run(configs)``, a resumable sweep writing records into ``out``; ``dry_run``: ``run`` only
    says what it would train, so no stage is timed."""
    datasets, ratios, stages = list(datasets), list(ratios), set(stages)
    for stage in sorted(stages):
        records = load_records(out) if Path(out).exists() else []
        runs = stage1_runs(datasets, ratios, studies) if stage == 1 else stage2_runs(datasets, ratios, records, log, studies, schedule)
        what = ("delta grid on a validation split" if stage == 1 else "Table-2 arms") + (", studies" if studies else "")
        log(f"stage {stage}: {len(runs)} runs ({what})")
        t0 = time.perf_counter()
        run(runs)
        longer = extended(runs, load_records(out))
        if longer:
            log(f"stage {stage}: {len(longer)} runs reached the cap unconverged; again with {EXTEND} times the cap")
            run(longer)
        if not dry_run:
            log(f"stage {stage} took {time.perf_counter() - t0:.0f} s")


# The comparison study: data-driven initializers beside MSRA and the paper's reading (their runs are Table 2's), in the
# cells below, until converged, with accuracy tracked every epoch (Config.track) for the speed scores; and the ResNet study.
COMPARISON_CELLS = tuple((d, r) for d in PAPER_DATASETS for r in (0.01, 0.1))
NEW_INITS = ("orthogonal", "lsuv", "kmeans", "pca")
REPAIRED: dict[str, Any] = {"init": "seed", "zero_mean": True, "random": "he"}  # the repaired reading of Algorithm 1
REPAIRED_ARM = arm_label(REPAIRED)
READINGS = {"seed": "the paper's seed filters", REPAIRED_ARM: "the repaired seed filters"}  # arms in words
READINGS |= {"kmeans": "k-means", "pca": "PCA", "lsuv": "LSUV", "msra": "MSRA", "orthogonal": "orthogonal"}
TAGS = {"he": "He-scaled", "zero-mean": "zero-mean", "diverse": "diverse", "theta": "θ", "epsilon": "ε", "radius": "r_t"}


def arm_words(arm: str) -> str:
    """An arm (``runs.arm_label``) as readers name it: ``k-means``, ``He-scaled seed filters``, ``seed filters (θ = 0.5)``."""
    if arm in READINGS or not arm.startswith("seed["):
        return READINGS.get(arm, arm)
    tags = arm[len("seed[") : -1].split(",")
    kinds = [TAGS.get(t, t) for t in tags if "=" not in t]
    settings = [f"{TAGS.get(k, k)} = {v}" for k, _, v in (t.partition("=") for t in tags if "=" in t)]
    return " ".join([", ".join(kinds), "seed filters"]).strip() + (f" ({', '.join(settings)})" if settings else "")


# ResNet-8 on colour CIFAR-10, r = 10 %: the convergence protocol with a shorter patience and scoring window, and a cap
# of 150 epochs (the method page says why).
RESNET: dict[str, Any] = {"grayscale": False, "model": "resnet8", "stop": "converged", "patience": 5, "score_epochs": 5, "epochs": 150}


def repaired_grid_runs(dataset: str, ratio: float) -> list[Config]:
    """Stage 1 for the repaired reading: its delta grid with a validation split (MSRA's runs are ``selection_runs``')."""
    return [
        cell_run(dataset, ratio, "delta-grid", val_fraction=VAL_FRACTION, seed=s, delta=d, **REPAIRED) for d in DELTAS for s in FEW_SEEDS
    ]


def comparison_runs(records: list[dict]) -> list[Config]:
    """The comparison study in ``COMPARISON_CELLS``, until converged as Table 2, accuracy tracked every epoch: the new
    initializers and the repaired reading (at the delta its recorded grid chose), ``SEEDS`` each; and, for their speed
    only (their Q3/4 are Table 2's), MSRA and the paper's reading at its chosen delta, ``FEW_SEEDS`` each."""
    repaired, paper = chosen_deltas(records, REPAIRED_ARM), chosen_deltas(records)
    runs = []
    for d, r in COMPARISON_CELLS:
        until = {**UNTIL_CONVERGED, "epochs": CAP[r], "track": True}
        arms = [{"init": i} for i in NEW_INITS] + ([{**REPAIRED, "delta": repaired[d, r]}] if (d, r) in repaired else [])
        runs += [cell_run(d, r, "study:comparison", seed=s, **a, **until) for a in arms for s in SEEDS]
        speed = [{"init": "msra"}] + ([{"init": "seed", "delta": paper[d, r]}] if (d, r) in paper else [])
        runs += [cell_run(d, r, "study:comparison", seed=s, **a, **until) for a in speed for s in FEW_SEEDS]
    return runs


def resnet_runs(records: list[dict]) -> list[Config]:
    """The ResNet study (``RESNET``): MSRA, LSUV, PCA, and the paper's and the repaired readings at the deltas chosen for
    LeNet-5 in the CIFAR-10 r = 10 % cell (each skipped until its grid is recorded), ``SEEDS`` each."""
    arms = [{"init": "msra"}, {"init": "lsuv"}, {"init": "pca"}]
    for reading, name in (({"init": "seed"}, "seed"), (REPAIRED, REPAIRED_ARM)):
        delta = chosen_deltas(records, name).get(("cifar10", 0.1))
        arms += [{**reading, "delta": delta}] if delta is not None else []
    return [cell_run("cifar10", 0.1, "study:resnet", seed=s, **a, **RESNET, track=True) for a in arms for s in SEEDS]


# The whole-training-set study (the paper's footnote to section 4: with all training samples, no significant difference):
# r = 1 under the convergence protocol with the cap of r = STUDY_RATIO; the paper's reading at the delta its grid chose at
# r = STUDY_RATIO (a delta grid at r = 1 would cost about a day per dataset on one CPU), beside MSRA, k-means and PCA.
FULL_SET_DATASETS = PAPER_DATASETS
FULL_SET_JUDGED_ON = ("mnist", "cifar10")  # the seventh claim waits for these; CIFAR-100 counts where recorded in full
FULL_SET_INITS = ("msra", "seed", "kmeans", "pca")


def full_set_runs(records: list[dict]) -> list[Config]:
    """The whole-training-set study, ``SEEDS`` each, ordered by dataset, then RNG seed, then init (the paper's reading
    skipped where its r = ``STUDY_RATIO`` grid is not recorded); MNIST's MSRA runs are the baseline study's at 60,000."""
    deltas = chosen_deltas(records)
    until = {**UNTIL_CONVERGED, "epochs": CAP[STUDY_RATIO], "ratio": 1.0, "role": "study:full-set"}
    runs = []
    for d in FULL_SET_DATASETS:
        arms = [{"init": i} for i in FULL_SET_INITS if i != "seed" or (d, STUDY_RATIO) in deltas]
        arms = [{**a, "delta": deltas[d, STUDY_RATIO]} if a["init"] == "seed" else a for a in arms]
        runs += [Config.from_dict({**until, "dataset": d, "seed": s, **a}, source="protocol") for s in SEEDS for a in arms]
    return runs

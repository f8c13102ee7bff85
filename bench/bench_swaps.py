"""Benchmark: mislabelled points against the plausibility checks (issue 13, 1).

Two campaigns, each measured in one vectorised call:

* every single swap of two labels on the demo films (the lateral and the AP
  film of ``spinecheck demo``, 0.2 mm/px): each swap is one study;
* every permutation of one vertebra's four corners (the 23 that are not the
  identity: the two rotations by one place, the sup/inf and left/right swaps,
  and the rest) on the real AASCE labels in ``../shared/data/aasce-dev/labels``
  (skipped when that folder is absent).

For each mislabelled study the numbers a person reads (every parameter and
every coronal curve, as :func:`~spinecheck.alignment.parameters.shown_number`
shows them) are compared with the unchanged film's. A study is

* **unchanged** when every shown number is the same and none is withheld
  (a swap of two points that no number uses, or of two superimposed points);
* **caught** when a number changed, and every changed number is withheld
  (null, with its reason) or the study carries a plausibility warning
  ("implausible landmarks ..."); counted as *withheld* when every changed
  number is withheld, else *warned*;
* **silent** when a number changed and nothing says so.

The silent ones are listed by kind, so that the checks can be judged.

    python bench/bench_swaps.py [--list N] [--cobb-method endplate|midline]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import time
from collections import Counter
from pathlib import Path

import numpy as np
from spinecheck.alignment.measure import measure
from spinecheck.alignment.parameters import PARAMETERS, shown_number
from spinecheck.landmarks.errors import SpinecheckError
from spinecheck.landmarks.io import read_landmarks
from spinecheck.landmarks.points.calibration import Calibration
from spinecheck.landmarks.points.model import LandmarkSet, LandmarkTable
from spinecheck.landmarks.synthetic.films import synthetic_ap, synthetic_lateral

AASCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "aasce-dev" / "labels"
_CORNERS = ("sup.left", "sup.right", "inf.right", "inf.left")  # clockwise on the film


def _repeat(base: LandmarkTable, n: int) -> LandmarkTable:
    """*base* (one study) repeated *n* times, each row with its own copy of the points."""
    rows = base.subset(np.zeros(n, dtype=int))
    return dataclasses.replace(rows, points={k: v.copy() for k, v in rows.points.items()})


def _numbers(m, i: int) -> dict[str, str | None]:
    """What a person reads of study *i*: shown values (None = withheld/not measured), curves."""
    out: dict[str, str | None] = {}
    for pid in PARAMETERS:
        v = m.values[pid][i]
        out[pid] = shown_number(float(v)) if np.isfinite(v) else None
    for c in m.curves.curves(i):
        out[f"curve {c['upper_end']}-{c['lower_end']}"] = shown_number(c["angle_deg"])
    return out


def _plausibility_warned(m, i: int, base_warnings: set[str]) -> bool:
    return any("implausible" in w for w in m.warnings[i] if w not in base_warnings)


def classify(
    base: LandmarkTable, table: LandmarkTable, cobb_method: str
) -> tuple[list[str], list[list[str]]]:
    """Each study of *table* against *base*: its class and the numbers that changed silently."""
    m0 = measure(base, cobb_method=cobb_method)
    m = measure(table, cobb_method=cobb_method)
    before = _numbers(m0, 0)
    base_warnings = set(m0.warnings[0])
    kinds, silent = [], []
    for i in range(len(table)):
        after = _numbers(m, i)
        changed = [k for k in before.keys() | after.keys() if before.get(k) != after.get(k)]
        shown = [k for k in changed if after.get(k) is not None]
        if not changed:
            kinds.append("unchanged")
            silent.append([])
        elif not shown:
            kinds.append("withheld")
            silent.append([])
        elif _plausibility_warned(m, i, base_warnings):
            kinds.append("warned")
            silent.append([])
        else:
            kinds.append("silent")
            silent.append([f"{k} {before.get(k)} -> {after.get(k)}" for k in sorted(shown)])
    return kinds, silent


def demo_swaps(cobb_method: str, listed: int) -> Counter:
    counts: Counter = Counter()
    for film in (synthetic_lateral(mm_per_px=0.2), synthetic_ap(mm_per_px=0.2)):
        lm: LandmarkSet = film.landmarks
        base = lm.to_table(Calibration.from_spacing([0.2, 0.2]))
        names = sorted(lm.points)
        pairs = list(itertools.combinations(names, 2))
        table = _repeat(base, len(pairs))
        for r, (a, b) in enumerate(pairs):
            table.points[a][r], table.points[b][r] = base.points[b][0], base.points[a][0]
        t0 = time.perf_counter()
        kinds, silent = classify(base, table, cobb_method)
        took = time.perf_counter() - t0
        c = Counter(kinds)
        counts.update(c)
        print(
            f"demo {lm.view.value:7s}: {len(pairs):5d} swaps ({took:.2f} s): "
            + ", ".join(f"{k} {c[k]}" for k in ("unchanged", "withheld", "warned", "silent"))
        )
        for (a, b), _, what in itertools.islice(
            ((p, k, w) for p, k, w in zip(pairs, kinds, silent, strict=True) if k == "silent"), listed
        ):
            print(f"    silent: {a} <-> {b}: {'; '.join(what[:4])}")
    return counts


def _permutations() -> list[tuple[str, tuple[int, ...]]]:
    named = {(3, 0, 1, 2): "rotate +1", (1, 2, 3, 0): "rotate -1", (3, 2, 1, 0): "swap sup/inf",
             (1, 0, 3, 2): "swap left/right", (2, 3, 0, 1): "rotate 2 (half turn)"}  # fmt: skip
    perms = [p for p in itertools.permutations(range(4)) if p != (0, 1, 2, 3)]
    return [(named.get(p, "other " + "".join(map(str, p))), p) for p in perms]


def aasce_corners(cobb_method: str, listed: int) -> Counter:
    files = sorted(AASCE.glob("*.mat"))
    if not files:
        print(f"AASCE labels not found in {AASCE}: skipped")
        return Counter()
    by_kind: dict[str, Counter] = {}
    counts: Counter = Counter()
    shown = 0
    t_all = 0.0
    skipped = 0
    for path in files:
        try:
            lm = read_landmarks(path)
        except SpinecheckError as e:  # a label the reader refuses is not a mislabelling test
            print(f"    skipped: {e}")
            skipped += 1
            continue
        base = lm.to_table()
        levels = sorted({n.split(".")[0] for n in lm.points})
        cases = [(level, kind, p) for level in levels for kind, p in _permutations()]
        table = _repeat(base, len(cases))
        for r, (level, _, p) in enumerate(cases):
            names = [f"{level}.{c}" for c in _CORNERS]
            for name, source in zip(names, p, strict=True):
                table.points[name][r] = base.points[names[source]][0]
        t0 = time.perf_counter()
        kinds, silent = classify(base, table, cobb_method)
        t_all += time.perf_counter() - t0
        counts.update(kinds)
        for (level, kind, _), k, what in zip(cases, kinds, silent, strict=True):
            group = kind if not kind.startswith("other") else "other permutations"
            by_kind.setdefault(group, Counter())[k] += 1
            if k == "silent" and shown < listed:
                shown += 1
                print(f"    silent: {path.name} {level} {kind}: {'; '.join(what[:3])}")
    total = sum(counts.values())
    print(f"AASCE dev: {len(files)} labels ({skipped} skipped), {total} corner permutations ({t_all:.2f} s)")
    for group, c in sorted(by_kind.items()):
        print(
            f"  {group:22s} {sum(c.values()):5d}: "
            + ", ".join(f"{k} {c[k]}" for k in ("unchanged", "withheld", "warned", "silent"))
        )
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--list", type=int, default=10, help="silent cases to print per campaign")
    ap.add_argument("--cobb-method", default="endplate", choices=("endplate", "midline"))
    args = ap.parse_args()
    demo = demo_swaps(args.cobb_method, args.list)
    caught = demo["withheld"] + demo["warned"]
    print(
        f"demo films: {sum(demo.values())} swaps tried, {caught} caught ({demo['withheld']} withheld, "
        f"{demo['warned']} warned), {demo['unchanged']} unchanged numbers, {demo['silent']} silent changes"
    )
    real = aasce_corners(args.cobb_method, args.list)
    if real:
        caught = real["withheld"] + real["warned"]
        print(
            f"AASCE corners: {sum(real.values())} tried, {caught} caught ({real['withheld']} withheld, "
            f"{real['warned']} warned), {real['unchanged']} unchanged numbers, {real['silent']} silent changes"
        )


if __name__ == "__main__":
    main()

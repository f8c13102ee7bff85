"""The fuzzing campaign (issue 13, point 5): mutated inputs through the API and the command line.

    python bench/fuzz.py [--runs N] [--seed S] [--reader json csv mat slicer dicom picture swaps aasce]
                         [--modes api cli] [--process N] [--sample N] [--failures FILE]

*N* cases per mutating reader (each run through the API and through ``spinecheck.cli.main`` in a
forked child with a memory limit and a timeout); ``swaps`` is every swap of two labels on the
generated lateral and AP films (through the API), ``aasce`` every one-vertebra corner permutation
of the real AASCE labels in ``../shared/data`` (skipped when absent). ``--process N`` also runs
the first N cases of each reader through the installed ``spinecheck`` command; ``--sample N``
runs a fixed random sample (the seed's) of N swaps and N permutations instead of all. Prints the counts per
reader (runs, clean errors, internal errors, crashes, silent wrong results, ok) and the first bad
runs; the oracle is in ``tests/fuzzing.py``.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import fuzzing  # noqa: E402

MUTATING = tuple(fuzzing.READERS)
EXHAUSTIVE = ("swaps", "aasce")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=400, help="cases per mutating reader (default 400)")
    parser.add_argument("--seed", type=int, default=1, help="the campaign's seed (default 1)")
    parser.add_argument(
        "--reader", nargs="+", choices=MUTATING + EXHAUSTIVE, default=list(MUTATING + EXHAUSTIVE)
    )
    parser.add_argument("--modes", nargs="+", choices=("api", "cli"), default=["api", "cli"])
    parser.add_argument("--process", type=int, default=0, help="cases per reader also run as a real process")
    parser.add_argument(
        "--sample", type=int, help="swaps and aasce: a fixed random sample of N cases, not all"
    )
    parser.add_argument("--failures", type=Path, help="write every bad run here, one a line")
    args = parser.parse_args(argv)

    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="spinecheck-fuzz-seeds-") as folder:
        seeds = fuzzing.make_seeds(Path(folder))
    fuzzing.warm_up(seeds)
    results: list[fuzzing.Result] = []
    for reader in args.reader:
        began = time.monotonic()
        if reader == "swaps":
            cases, modes = fuzzing.all_swaps(seeds), ["api"]
        elif reader == "aasce":
            cases, modes = fuzzing.aasce_permutations(), ["api"]
        else:
            cases, modes = fuzzing.generate(reader, seeds, args.runs, args.seed), args.modes
        if reader in EXHAUSTIVE and args.sample is not None and args.sample < len(cases):
            cases = random.Random(args.seed).sample(cases, args.sample)
        mine = fuzzing.campaign(cases, modes)
        mine += [fuzzing.run_subprocess(case) for case in cases[: args.process]]
        results += mine
        print(f"{reader}: {len(mine)} runs in {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
    print(
        f"spinecheck fuzzing campaign: seed {args.seed}, {args.runs} cases per mutating reader, "
        f"modes {' '.join(args.modes)}, {time.monotonic() - start:.0f} s"
    )
    print(fuzzing.counts_table(results))
    bad = fuzzing.failures(results)
    if args.failures:
        args.failures.write_text("".join(line + "\n" for line in bad))
    print(f"\nfirst bad runs ({len(bad)} in all):")
    for line in bad[:40]:
        print("  " + line[:220])
    return 0


if __name__ == "__main__":
    sys.exit(main())

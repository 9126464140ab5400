"""Throughput of the sample-data generator (customers/s, single core).

Usage: python bench/sample_data_speed.py [N] [--seed S]

Prints, per profile, the one-off setup (phone-head pools, first call in the process), and
the steady generation rate over N customers (default 200,000). No assertions: the target
is >= 30,000 customers/s for the lean profile.
"""

from __future__ import annotations

import argparse
import time

from custmaster.services.sample_data import generate_customers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    start = time.perf_counter()
    next(generate_customers(1, seed=args.seed, profile="lean"))
    print(f"setup (first call, phone pools): {time.perf_counter() - start:.3f} s")
    for profile in ("lean", "demo"):
        start = time.perf_counter()
        count = 0
        for _ in generate_customers(args.n, seed=args.seed, profile=profile):
            count += 1
        elapsed = time.perf_counter() - start
        print(
            f"{profile:5s} {count:>9,d} customers in {elapsed:6.2f} s = "
            f"{count / elapsed:>9,.0f} customers/s"
        )


if __name__ == "__main__":
    main()

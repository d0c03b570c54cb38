"""What glibc's heap settings cost a gateway that moves megabyte bodies (infra/memory.py).

Copies a 1.5 MB body (an image answer's size) the ways the gateway does (a join of 64 KiB
pieces; a copy into a new buffer; 20 live at once, then freed), first with glibc's own
settings, then in a fresh process after ``heap_keeping`` with the served default. Prints ms and
minor page faults per round for each. Linux with glibc only.

    python bench/bench_heap.py [--rounds 300]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

from imagedesigner.config import Settings
from imagedesigner.infra.memory import heap_keeping

BODY = os.urandom(1_500_000)
CASES = {
    "join of 64 KiB pieces": lambda: b"".join(
        [BODY[i : i + 65536] for i in range(0, len(BODY), 65536)]
    ),
    "copy into a new buffer": lambda: bytes(bytearray(BODY)),
    "20 live, then freed": lambda: [bytes(bytearray(BODY)) for _ in range(20)],
}


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def measure(rounds: int) -> None:
    for name, case in CASES.items():
        case()
        faults, start = _faults(), time.perf_counter()
        for _ in range(rounds):
            case()
        ms = (time.perf_counter() - start) * 1000 / rounds
        print(f"  {name:24s} {ms:8.3f} ms {(_faults() - faults) / rounds:8.0f} faults per round")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--keep", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.keep is not None:  # the child: one setting, measured
        if args.keep and not heap_keeping(args.keep):
            sys.exit("no glibc mallopt here")
        measure(args.rounds)
        return
    keep = Settings.model_fields["memory_heap_keep"].default
    for label, value in (("glibc's own settings", 0), (f"heap_keeping({keep})", keep)):
        print(label)
        sys.stdout.flush()
        cmd = [sys.executable, __file__, "--rounds", str(args.rounds), "--keep", str(value)]
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()

"""Median time of local/sketch render + PNG encode. Run: python bench/bench_sketch.py"""

from __future__ import annotations

import statistics
import time

from imagedesigner.imaging import sketch
from imagedesigner.providers.local import encode

PROMPTS = [
    "a red house under a starry night sky with a moon",
    "sunset over the sea with mountains",
    "a forest at dawn with birds and clouds",
    "a city skyline at night in the fog",
]


def bench(side: int, runs: int = 20) -> float:
    times = []
    for i in range(runs):
        prompt = PROMPTS[i % len(PROMPTS)]
        start = time.perf_counter()
        encode(sketch.render(prompt, i, side, side), "png")
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


if __name__ == "__main__":
    for side in (512, 1024):
        print(f"{side}x{side}: median {bench(side):.1f} ms (render + PNG encode, 20 runs)")

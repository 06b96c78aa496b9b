"""The parse limit: one ``orjson.loads`` of every page file, one core, the cyclic GC off.

    python benchmarks/parse_limit.py PAGES_DIR OUT.json

Writes the seconds (wall and CPU) spent in ``orjson.loads`` alone, and in the whole loop
(read, parse, free), with the number of pages and bytes. Issue 16's first target: a cycle over
page files costs at most twice the ``loads`` figure.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path

import orjson


def measure(directory: Path) -> dict[str, float]:
    pages = sorted(p for p in directory.iterdir() if p.suffix == ".json")
    loads = loads_cpu = 0.0
    size = 0
    start, cpu = time.perf_counter(), time.process_time()
    for page in pages:
        raw = page.read_bytes()
        size += len(raw)
        t, c = time.perf_counter(), time.process_time()
        doc = orjson.loads(raw)
        loads += time.perf_counter() - t
        loads_cpu += time.process_time() - c
        del doc
    return {
        "loads_seconds": loads,
        "loads_cpu_seconds": loads_cpu,
        "loop_seconds": time.perf_counter() - start,
        "loop_cpu_seconds": time.process_time() - cpu,
        "pages": len(pages),
        "bytes": size,
    }


def main(directory: str, out: str) -> int:
    gc.disable()
    Path(out).write_text(json.dumps(measure(Path(directory))))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

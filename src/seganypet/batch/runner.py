"""Run a cohort: resumable per case, one failure never stops the run, three ways to shard.

Layout of ``OUT/``::

    cases/<case_id>/...        the task's files
    cases/<case_id>/DONE       written last: the case is complete
    cases/<case_id>/FAILED.json  the case failed (error type and message)
    lesions.csv summary.csv failures.csv network_manifest.jsonl   (when every case is settled)

A case folder without ``DONE`` (a killed run, or a failure) is removed and redone when the run
is resumed; a case with ``DONE`` is skipped. Each process writes the cohort tables once all
cases of the manifest are settled (done or failed), so with any sharding the last part to
finish writes them; ``collect_tables`` rebuilds them at any time.

Engines: ``local`` (this process, its shard), ``ray`` (a Ray actor pool over the shard, the
model loaded once per actor). Outputs never depend on the engine, the sharding or the clock:
torch runs with a fixed number of threads per worker (``threads``), so the same case gives
byte-identical files everywhere.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from seganypet.atomic import atomic_path
from seganypet.batch.manifest import BatchCase, read_batch_manifest
from seganypet.batch.sharding import resolve_part, shard
from seganypet.batch.tables import collect_tables
from seganypet.batch.tasks import TASKS, run_lesions, run_prompts
from seganypet.errors import InputError

__all__ = ["DONE", "FAILED", "BatchOptions", "CaseWorker", "case_status", "run_batch"]

log = logging.getLogger(__name__)

DONE = "DONE"
FAILED = "FAILED.json"


@dataclass(frozen=True)
class BatchOptions:
    """What every case runs: the task, the model, lesion settings, device, threads."""

    task: str = "lesions"
    model: str = "default"
    settings: Any = None
    device: str = "cpu"
    threads: int = 1
    preview: bool = True

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise InputError(f"--task {self.task!r} is not one of {TASKS}")
        if self.threads < 1:
            raise InputError(f"--threads must be at least 1, got {self.threads}")


def case_status(folder: Path) -> str:
    """``"done"``, ``"failed"``, ``"partial"`` (folder without a marker) or ``"absent"``."""
    if (folder / DONE).is_file():
        return "done"
    if (folder / FAILED).is_file():
        return "failed"
    return "partial" if folder.exists() else "absent"


class CaseWorker:
    """Runs cases with one model loaded once (one per process, or per Ray actor)."""

    def __init__(self, options: BatchOptions) -> None:
        import torch

        from seganypet.model import load_model

        torch.set_num_threads(options.threads)
        self.options = options
        self.model = load_model(options.model, device=options.device)

    def run(self, case: BatchCase, out: str) -> str:
        """Run one case into ``out/cases/<case_id>``; returns done / failed / skipped."""
        folder = Path(out) / "cases" / case.case_id
        if case_status(folder) == "done":
            return "skipped"
        if folder.exists():
            shutil.rmtree(folder)  # half-written or failed before: start clean
        folder.mkdir(parents=True)
        try:
            self._task(case, folder)
        except Exception as exc:  # noqa: BLE001 - one bad case must not stop a cohort
            log.warning("case %s failed: %s: %s", case.case_id, type(exc).__name__, exc)
            for child in folder.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
            with atomic_path(folder / FAILED) as tmp:
                tmp.write_text(json.dumps({"case_id": case.case_id, "error": type(exc).__name__,
                                           "message": str(exc).splitlines()[0] if str(exc) else ""},
                                          indent=1) + "\n", encoding="utf-8")
            return "failed"
        with atomic_path(folder / DONE) as tmp:
            tmp.write_text(f"{case.case_id}\n", encoding="utf-8")
        return "done"

    def _task(self, case: BatchCase, folder: Path) -> None:
        options = self.options
        if options.task == "lesions":
            run_lesions(case, folder, self.model, options.settings, options.device,
                        options.preview)
        else:
            run_prompts(case, folder, self.model, options.device)


def _run_local(cases: list[BatchCase], options: BatchOptions, out: Path,
               progress: bool) -> list[str]:
    worker = CaseWorker(options)
    return [worker.run(case, str(out))
            for case in tqdm(cases, desc="cases", unit="case", disable=not progress)]


def _run_ray(cases: list[BatchCase], options: BatchOptions, out: Path, address: str | None,
             workers: int) -> list[str]:
    """A Ray actor pool of ``workers`` actors (model loaded once each) over ``cases``."""
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:
        raise InputError("--engine ray needs Ray: pip install 'seganypet[ray]'") from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, num_cpus=None if address else workers * options.threads,
                 include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        actor = ray.remote(num_cpus=options.threads)(CaseWorker)
        pool = ActorPool([actor.remote(options) for _ in range(workers)])
        return list(pool.map(lambda a, case: a.run.remote(case, str(out)), cases))
    finally:
        if started:
            ray.shutdown()


def run_batch(manifest: str | Path, out: str | Path, options: BatchOptions, *,
              num_parts: int | None = None, part_id: int | None = None, engine: str = "local",
              address: str | None = None, workers: int = 2, progress: bool = False
              ) -> dict[str, Any]:
    """Run this process's part of a cohort; returns counts and whether the tables were written.

    Args:
        manifest: batch manifest (``seganypet.batch.manifest``).
        out: output folder.
        options: task and model settings.
        num_parts, part_id: the shard (default: torchrun's environment, else everything).
        engine: ``"local"`` or ``"ray"``; ``address`` a Ray cluster (default: start a local
            Ray with ``workers`` CPUs), ``workers`` the actor-pool size.
    """
    cases = read_batch_manifest(manifest)
    parts, part = resolve_part(num_parts, part_id)
    mine = shard(cases, parts, part)
    out = Path(out)
    (out / "cases").mkdir(parents=True, exist_ok=True)
    if engine == "local":
        statuses = _run_local(mine, options, out, progress)
    elif engine == "ray":
        statuses = _run_ray(mine, options, out, address, workers)
    else:
        raise InputError(f"--engine {engine!r} is not local or ray")
    settled = all(case_status(out / "cases" / c.case_id) in ("done", "failed") for c in cases)
    if settled:
        collect_tables(cases, out, options.task)
    return {"part": part, "num_parts": parts, "cases": len(mine),
            **{k: statuses.count(k) for k in ("done", "failed", "skipped")},
            "tables": settled}

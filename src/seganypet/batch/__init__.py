"""Cohort runs: one folder per case, resumable, sharded (any scheduler, torchrun, Ray).

* :mod:`.manifest` — the batch manifest (JSON lines: ``case_id``, ``image``, ``prompts``);
* :mod:`.sharding` — which cases a process runs (``--num-parts/--part-id`` or torchrun's
  ``RANK``/``WORLD_SIZE``);
* :mod:`.tasks` — what a case does (``lesions``: lesion mode; ``prompts``: replay clicks);
* :mod:`.runner` — done markers, failures, resume, the Ray actor pool;
* :mod:`.tables` — cohort tables (``lesions.csv``, ``summary.csv``, ``failures.csv``,
  ``network_manifest.jsonl`` for ``seganypet network``).
"""

from seganypet.batch.manifest import BatchCase, read_batch_manifest
from seganypet.batch.runner import BatchOptions, run_batch
from seganypet.batch.sharding import resolve_part, shard

__all__ = ["BatchCase", "BatchOptions", "read_batch_manifest", "resolve_part", "run_batch",
           "shard"]

"""``torchrun --nproc_per_node 2`` (gloo, CPU) gives the weights of one process with the same
global batch."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import torch

from seganypet.model import build_model, load_model, save_model
from seganypet.train.checkpoint import load_checkpoint
from seganypet.train.config import TrainConfig
from seganypet.train.loop import train

GLOBAL_BATCH = 4


def test_two_ranks_match_one_process(tmp_path) -> None:
    torch.manual_seed(1)
    init = tmp_path / "init.safetensors"
    save_model(build_model("tiny"), init)
    base = TrainConfig(preset="tiny", init=str(init), phantom_voxel_mm=8.0, phantom_pool=2,
                       phantom_reuse=4, clicks_max=3, steps=2, lr_encoder=1e-4, lr_decoder=1e-4,
                       amp="off", seed=11, log_every=1)
    single = train(dataclasses.replace(base, batch_size=GLOBAL_BATCH, threads=2,
                                       out_dir=str(tmp_path / "single")))
    ddp_cfg = dataclasses.replace(base, batch_size=GLOBAL_BATCH // 2, out_dir=str(tmp_path / "ddp"))
    config = tmp_path / "ddp.json"
    config.write_text(json.dumps(ddp_cfg.to_dict()))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "seganypet", "train", str(config)],
        check=False, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    one, _, _ = load_checkpoint(tmp_path / "single")
    two, state, _ = load_checkpoint(tmp_path / "ddp")
    assert state.step == 2 == single.step
    start = load_model(init).state_dict()
    moved = max(float((one.state_dict()[k] - v).abs().max()) for k, v in start.items())
    assert moved > 1e-4  # two AdamW steps at lr 1e-4 really changed the weights
    for (name, a), b in zip(one.state_dict().items(), two.state_dict().values()):
        assert torch.allclose(a, b, atol=2e-5, rtol=1e-4), (name, (a - b).abs().max())
    first_rank_log = (tmp_path / "ddp" / "log.jsonl").read_text().splitlines()
    assert len(first_rank_log) == 2  # rank 0 logs once per step, rank 1 not at all

"""Run by torchrun from test_train_loop.py: train a few steps data-parallel, save rank 0's weights."""

import sys

import torch
from test_train_loop import DDP_TRAIN, FixedBatchTask, small_net

from paperzoo.train.loop import Trainer

if __name__ == "__main__":
    torch.set_num_threads(1)
    model = small_net()
    task = FixedBatchTask()
    trainer = Trainer(model, task, DDP_TRAIN)
    assert trainer.dist.world_size == 2
    trainer.fit()
    if trainer.dist.rank == 0:
        torch.save({**trainer.model.state_dict(), "__seen__": torch.tensor(task.seen)}, sys.argv[1])
    torch.distributed.destroy_process_group()

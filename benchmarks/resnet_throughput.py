"""Training throughput of CIFAR ResNet-56 (batch 128): paperzoo's loop against a straightforward one.

Both loops train the same model on the same data in the same process:

* **baseline**: what a tutorial writes. A ``torch.utils.data.DataLoader`` over the uint8 images on
  the CPU with per-image random crop (4-pixel padding) and flip in worker processes, pinned memory,
  fp32, NCHW, eager mode, ``loss.item()`` every step.
* **paperzoo**: the shared training loop (:class:`paperzoo.train.Trainer`) with the dataset held
  on the GPU as one uint8 tensor and augmented there, bf16 autocast, channels_last, and optionally
  ``torch.compile`` (``reduce-overhead`` adds CUDA graphs).

Throughput is the median of per-interval images/s after warm-up (compilation excluded). The
report also projects the wall time of the paper's 64k-iteration schedule for each variant. The
measurement is :mod:`cnn_throughput`'s (the same benchmark for any CIFAR model), with ResNet-56
as the default model.

    python benchmarks/resnet_throughput.py --device cuda          # on the GPU machine
    python benchmarks/resnet_throughput.py --device cpu --steps 6  # a smoke run anywhere
"""

from __future__ import annotations

from cnn_throughput import main as cnn_main

PAPER_ITERATIONS = 64000


def main(argv=None):
    return cnn_main(argv, default_models=("resnet56",), paper_iterations=PAPER_ITERATIONS,
                    script="benchmarks/resnet_throughput.py", description=__doc__.splitlines()[0])


if __name__ == "__main__":
    main()

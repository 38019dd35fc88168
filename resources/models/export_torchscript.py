#!/usr/bin/env python3
"""Saves a PyTorch model as TorchScript for `samscape-cli train --model-file FILE`.

samscape trains and analyses any module that maps float images [N, C, H, W] to logits [N, classes].
Edit `Net` (or import your own), then:

    python3 resources/models/export_torchscript.py my-net.pt --channels 1 --size 28 --classes 10
    ./scripts/run.sh train --model-file my-net.pt

The weights saved here are the initial weights of the run. Works with Debian's python3-torch (1.13)
and with current PyTorch.
"""
import argparse

import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, channels: int, size: int, classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(64 * (size // 4) * (size // 4), classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    module = torch.jit.script(Net(args.channels, args.size, args.classes))
    logits = module(torch.zeros(2, args.channels, args.size, args.size))
    assert logits.shape == (2, args.classes), logits.shape
    torch.jit.save(module, args.output)
    print(f"saved {args.output}")


if __name__ == "__main__":
    main()

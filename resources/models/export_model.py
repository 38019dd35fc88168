#!/usr/bin/env python3
"""Saves a PyTorch model as TorchScript for `samscape-cli train --model-file FILE`.

samscape trains and analyses any module that maps float images [N, C, H, W] to logits [N, classes].
Pick one of the examples below (or add your own class and a line in MODELS), then:

    python3 resources/models/export_model.py my-net.pt --model convnet --channels 1 --size 28 --classes 10
    ./scripts/run.sh train --model-file my-net.pt

Use the Python samscape was built with (scripts/setup.sh prints it; by default
~/.cache/samscape/torch-<version>/bin/python3), so that the module and samscape's LibTorch agree.
The weights saved here are the run's initial weights.

--trace exports with torch.jit.trace instead of torch.jit.script. Tracing records one forward pass and
freezes Python's control flow, `self.training` included: batch norm and dropout would keep the mode
they were traced in. So their modules are scripted first (they then switch with train()/eval()) and
the rest is traced around them. samscape refuses a module whose evaluation mode still behaves like
training (or the reverse), naming the file.
"""
import argparse
import warnings

import torch
from torch import nn


class ConvNet(nn.Module):
    """Two convolutions and a linear classifier: the template."""

    def __init__(self, channels: int, size: int, classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(64 * (size // 4) * (size // 4), classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class GeluDropoutNet(nn.Module):
    """A small net with GELU and dropout (dropout is on in training, off in evaluation)."""

    def __init__(self, channels: int, size: int, classes: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.hidden = nn.Linear(channels * 16, 16)
        self.dropout = nn.Dropout(0.2)
        self.out = nn.Linear(16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = nn.functional.gelu(self.hidden(self.pool(x).flatten(1)))
        return self.out(self.dropout(h))


class VisionTransformer(nn.Module):
    """Two pre-norm transformer encoder layers (64 wide, 4 heads) over 7x7 patches."""

    def __init__(self, channels: int, size: int, classes: int, patch: int = 7, width: int = 64):
        super().__init__()
        assert size % patch == 0, f"--size {size} is not a multiple of the patch size {patch}"
        self.channels, self.patch, self.grid = channels, patch, size // patch
        self.embed = nn.Linear(channels * patch * patch, width)
        self.position = nn.Parameter(torch.zeros(self.grid * self.grid, width))
        layer = nn.TransformerEncoderLayer(width, 4, 2 * width, batch_first=True, norm_first=True, activation="gelu")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nested tensors are unused with norm_first
            self.encoder = nn.TransformerEncoder(layer, 2)
        self.head = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        g, p, c = self.grid, self.patch, self.channels
        patches = x.reshape(b, c, g, p, g, p).permute(0, 2, 4, 1, 3, 5).reshape(b, g * g, c * p * p)
        return self.head(self.encoder(self.embed(patches) + self.position).mean(1))


class BasicBlock(nn.Module):
    def __init__(self, inputs: int, outputs: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.shortcut = nn.Sequential()
        if stride != 1 or inputs != outputs:
            self.shortcut = nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18's layout (2-2-2-2 basic blocks, batch norm) at a width of `width` (64 in the original)."""

    def __init__(self, channels: int, size: int, classes: int, width: int = 16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        blocks, inputs = [], width
        for stage, outputs in enumerate([width, 2 * width, 4 * width, 8 * width]):
            for index in range(2):
                blocks.append(BasicBlock(inputs, outputs, 2 if stage > 0 and index == 0 else 1))
                inputs = outputs
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(inputs, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(nn.functional.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1).flatten(1))


MODELS = {"convnet": ConvNet, "gelu-dropout": GeluDropoutNet, "vit": VisionTransformer, "resnet18": ResNet18}
MODE_DEPENDENT = (nn.modules.batchnorm._BatchNorm, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)


def script_mode_dependent(module: nn.Module) -> None:
    """Replaces every batch norm and dropout module inside `module` by its scripted self, in place."""
    for name, child in module.named_children():
        if isinstance(child, MODE_DEPENDENT):
            setattr(module, name, torch.jit.script(child))
        else:
            script_mode_dependent(child)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--model", choices=sorted(MODELS), default="convnet")
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, help="resnet18: channels of its first stage (default 16); vit: embedding width (default 64)")
    parser.add_argument("--trace", action="store_true", help="torch.jit.trace (mode-dependent modules scripted first)")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    extra = {"width": args.width} if args.width is not None and args.model in ("resnet18", "vit") else {}
    model = MODELS[args.model](args.channels, args.size, args.classes, **extra)
    example = torch.zeros(2, args.channels, args.size, args.size)
    with warnings.catch_warnings():
        # TorchScript is deprecated upstream in favour of torch.export; samscape's LibTorch runs
        # TorchScript (see the README's "Bring your own model" on torch.export).
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        if args.trace:
            script_mode_dependent(model)
            module = torch.jit.trace(model.train(), example)
        else:
            module = torch.jit.script(model)
    logits = module.eval()(example)
    assert logits.shape == (2, args.classes), logits.shape
    torch.jit.save(module.train(), args.output)
    parameters = sum(p.numel() for p in model.parameters())
    print(f"saved {args.output}: {args.model}, {parameters} parameters, {'traced' if args.trace else 'scripted'}")


if __name__ == "__main__":
    main()

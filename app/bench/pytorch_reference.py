#!/usr/bin/env python3
"""The steps samscape-bench times, in PyTorch from Python, for a side-by-side comparison in one run.

samscape-bench --pytorch-reference app/bench/pytorch_reference.py runs this script after its own
table, on the same device, threads, batch, rounds and steps, and prints its lines under the table.
The models are samscape's built-in ones: mlp and cnn (LeNet-5 style) on 1x28x28, the CIFAR resnets (He
et al. 2016, projection shortcuts) and wide resnets (Zagoruyko & Komodakis 2016, pre-activation blocks)
on 3x32x32; the step SGD with momentum 0.9, or SAM (Foret et al. 2021: gradient, e = rho g / ||g|| over
all parameters together, gradient at w + e, restore, step) over it; timing as in samscape-bench: each
variant's fastest round, and the median over rounds of the SAM/SGD ratio within a round. Random data of
the model's usual input shape; no data loading.

CPU threads: --threads N (0: every core, as samscape's default) sets torch's intra-op threads, which a
distribution's torch may otherwise start at 1; the header line states the count torch then reports, so
both sides of the comparison say what they ran with.
"""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Mlp(nn.Module):
    def __init__(self, features=28 * 28, classes=10):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(features, 256), nn.Linear(256, 128), nn.Linear(128, classes)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x.flatten(1))))))


class LeNet(nn.Module):
    """samscape's cnn: conv 5x5 (pad 2) 6, max pool, conv 5x5 16, max pool, 120, 84, classes."""

    def __init__(self, channels=1, side=28, classes=10):
        super().__init__()
        out = (side // 2 - 4) // 2
        self.conv1, self.conv2 = nn.Conv2d(channels, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(16 * out * out, 120), nn.Linear(120, 84), nn.Linear(84, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x.flatten(1))))))


def conv3x3(inp, out, stride):
    return nn.Conv2d(inp, out, 3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    def __init__(self, inp, out, stride):
        super().__init__()
        self.conv1, self.bn1 = conv3x3(inp, out, stride), nn.BatchNorm2d(out)
        self.conv2, self.bn2 = conv3x3(out, out, 1), nn.BatchNorm2d(out)
        self.shortcut = None
        if stride != 1 or inp != out:
            self.shortcut = nn.Sequential(nn.Conv2d(inp, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.shortcut is None else self.shortcut(x)))


class CifarResNet(nn.Module):
    def __init__(self, depth, channels=3, classes=10):
        super().__init__()
        blocks = (depth - 2) // 6

        def stage(inp, out, stride):
            return nn.Sequential(*[BasicBlock(inp if i == 0 else out, out, stride if i == 0 else 1) for i in range(blocks)])

        self.stem, self.stem_bn = conv3x3(channels, 16, 1), nn.BatchNorm2d(16)
        self.stages = nn.Sequential(stage(16, 16, 1), stage(16, 32, 2), stage(32, 64, 2))
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.stages(F.relu(self.stem_bn(self.stem(x))))
        return self.fc(x.mean((2, 3)))


class WideBasicBlock(nn.Module):
    def __init__(self, inp, out, stride):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(inp), conv3x3(inp, out, stride)
        self.bn2, self.conv2 = nn.BatchNorm2d(out), conv3x3(out, out, 1)
        self.shortcut = None
        if stride != 1 or inp != out:
            self.shortcut = nn.Conv2d(inp, out, 1, stride=stride, bias=False)

    def forward(self, x):
        activated = F.relu(self.bn1(x))
        out = self.conv2(F.relu(self.bn2(self.conv1(activated))))
        return out + (x if self.shortcut is None else self.shortcut(activated))


class WideResNet(nn.Module):
    def __init__(self, depth, widen, channels=3, classes=10):
        super().__init__()
        blocks, k = (depth - 4) // 6, widen

        def stage(inp, out, stride):
            return nn.Sequential(*[WideBasicBlock(inp if i == 0 else out, out, stride if i == 0 else 1) for i in range(blocks)])

        self.stem = conv3x3(channels, 16, 1)
        self.stages = nn.Sequential(stage(16, 16 * k, 1), stage(16 * k, 32 * k, 2), stage(32 * k, 64 * k, 2))
        self.final_bn = nn.BatchNorm2d(64 * k)
        self.fc = nn.Linear(64 * k, classes)

    def forward(self, x):
        x = F.relu(self.final_bn(self.stages(self.stem(x))))
        return self.fc(x.mean((2, 3)))


MODELS = {
    "mlp": lambda: Mlp(),
    "cnn": lambda: LeNet(),
    "resnet20": lambda: CifarResNet(20),
    "resnet32": lambda: CifarResNet(32),
    "resnet56": lambda: CifarResNet(56),
    "wrn16-4": lambda: WideResNet(16, 4),
    "wrn28-10": lambda: WideResNet(28, 10),
}


def sgd_step(model, optimizer, images, labels):
    optimizer.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss


def sam_step(model, optimizer, images, labels, rho=0.05):
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    grads = [p.grad for p in params]
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    scale = rho / (norm + 1e-12)
    perturbations = torch._foreach_mul(grads, scale)
    # The perturbed pass must not move batch-norm statistics (samscape restores them likewise).
    buffers = [b.detach().clone() for b in model.buffers()]
    with torch.no_grad():
        torch._foreach_add_(params, perturbations)
    optimizer.zero_grad(set_to_none=True)
    F.cross_entropy(model(images), labels).backward()
    with torch.no_grad():
        torch._foreach_sub_(params, perturbations)
        for b, saved in zip(model.buffers(), buffers):
            b.copy_(saved)
    optimizer.step()
    return loss


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--models", default="resnet20,wrn28-10")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: every core)")
    args = parser.parse_args()
    if args.threads < 0:
        parser.error(f"--threads {args.threads}: must be 0 (every core) or positive")
    torch.set_num_threads(args.threads if args.threads > 0 else (os.cpu_count() or 1))
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"pytorch (python): torch {torch.__version__}, device {args.device} ({name}), {torch.get_num_threads()} threads, "
          f"batch {args.batch_size}, {args.rounds} rounds of {args.steps} steps")
    print(f"{'model':<10} {'sgd img/s':>10} {'sgd ms':>9} {'sam ms':>9} {'sam/sgd':>12}")
    for model_name in args.models.split(","):
        if model_name not in MODELS:
            print(f"{model_name:<10} (no Python definition)")
            continue
        torch.manual_seed(0)
        model = MODELS[model_name]().to(device).train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        shape = (1, 28, 28) if model_name in ("mlp", "cnn") else (3, 32, 32)
        images = torch.randn(args.batch_size, *shape, device=device)
        labels = torch.randint(0, 10, (args.batch_size,), device=device)
        variants = {"sgd": sgd_step, "sam": sam_step}
        rounds = {label: [] for label in variants}
        for step in variants.values():  # warm-up (cuDNN picks its algorithms)
            step(model, optimizer, images, labels)
        synchronize()
        for _ in range(args.rounds):
            for label, step in variants.items():
                start = time.perf_counter()
                for _ in range(args.steps):
                    step(model, optimizer, images, labels)
                synchronize()
                rounds[label].append((time.perf_counter() - start) / args.steps)
        sgd, sam = min(rounds["sgd"]), min(rounds["sam"])
        ratio = statistics.median(a / b for a, b in zip(rounds["sam"], rounds["sgd"]))
        print(f"{model_name:<10} {args.batch_size / sgd:10.1f} {1000 * sgd:9.2f} {1000 * sam:9.2f} {ratio:12.3f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

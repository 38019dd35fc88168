#!/usr/bin/env python3
"""The dense Hessian of a TorchScript model's mean cross-entropy, by PyTorch's own autograd in Python:
the independent computation ModelFileCliTest checks samscape's Lanczos eigenvalues against.

    dense_hessian.py MODEL.pt MNIST_DIR COUNT TOP

Loads MODEL.pt (samscape's model.pt of a --model-file run), the first COUNT test images of the MNIST
IDX files in MNIST_DIR with pixels scaled to [0, 1] (samscape's --no-normalize), evaluates the model
in evaluation mode in float64, forms the full Hessian over every parameter and prints its TOP largest
eigenvalues, one per line.
"""
import gzip
import struct
import sys
import warnings

import torch


def read_idx(path: str) -> torch.Tensor:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def main() -> None:
    model_path, directory, count, top = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    warnings.simplefilter("ignore")
    images = read_idx(f"{directory}/t10k-images-idx3-ubyte.gz")[:count].unsqueeze(1).double() / 255.0
    labels = read_idx(f"{directory}/t10k-labels-idx1-ubyte.gz")[:count].long()
    module = torch.jit.load(model_path).double().eval()
    names = [name for name, _ in module.named_parameters()]
    values = [p.detach().clone() for _, p in module.named_parameters()]
    sizes = [v.numel() for v in values]

    def loss(flat: torch.Tensor) -> torch.Tensor:
        pieces = torch.split(flat, sizes)
        for name, piece, value in zip(names, pieces, values):
            owner = module
            *path, leaf = name.split(".")
            for part in path:
                owner = getattr(owner, part)
            setattr(owner, leaf, piece.view_as(value))
        return torch.nn.functional.cross_entropy(module(images), labels)

    flat = torch.cat([v.reshape(-1) for v in values])
    hessian = torch.autograd.functional.hessian(loss, flat)
    eigenvalues = torch.linalg.eigvalsh(0.5 * (hessian + hessian.T))
    for value in eigenvalues.flip(0)[:top].tolist():
        print(repr(value))


if __name__ == "__main__":
    main()

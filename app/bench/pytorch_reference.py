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

--analysis (instead of the training steps; only its table is printed): the costs of samscape's analysis
in PyTorch. For each model, in evaluation mode, on --examples N random inputs of the model's usual shape
with random labels in 0..9, the loss L = (sum of the cross-entropies) / N, taken over chunks of --chunk C
examples whose contributions are summed (bounding memory, as samscape's analysis does), it times: one
gradient dL/dw; one Hessian-vector product by double backward (per chunk g = autograd.grad(loss, params,
create_graph=True), then autograd.grad(g, params, grad_outputs=v)); one by forward-over-reverse
(torch.func.jvp of torch.func.grad of a functional_call loss, per chunk), "nan" where PyTorch lacks a
forward derivative it needs (e.g. of nll_loss_backward or native_batch_norm_backward; the reason follows
the '#'). Each quantity is warmed up once, then timed --rounds times (default 3) and the fastest kept.
Dtype: the models' float32 (samscape-bench's own analysis line uses float64). PEAK_MIB is the peak memory
of the product phase: on CPU the peak resident set (VmHWM after writing 5 to /proc/self/clear_refs, Linux
only) of the whole process, so it includes the interpreter, torch's libraries, the model and the data, not
the products' working memory alone; on CUDA torch.cuda.max_memory_allocated (tensors only). Each data line,
MODEL PARAMS GRAD_S HVP_DB_S HVP_FR_S PEAK_MIB, reads with sscanf("%63s %lf %lf %lf %lf %lf"); free text
follows a '#' (the product/gradient ratios, the peak of each product method, why a column is nan), and
lines that are not data start with '#'. --check adds a '#' line per model: max|a-b| / max|b| of the
gradient and the double-backward product, chunked against one chunk of all N examples, and of the
forward-over-reverse product against the double-backward one. --batch-size and --steps do not apply.
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


def analysis_inputs(model_name, examples, chunk, device):
    """Random inputs of the model's usual shape and labels in 0..9, split into chunks of at most `chunk`."""
    shape = (1, 28, 28) if model_name in ("mlp", "cnn") else (3, 32, 32)
    images = torch.randn(examples, *shape).to(device)
    labels = torch.randint(0, 10, (examples,)).to(device)
    return list(zip(images.split(chunk), labels.split(chunk)))


def chunk_loss(logits, labels, examples):
    """The chunk's share of L = (sum of the cross-entropies) / N."""
    return F.cross_entropy(logits, labels, reduction="sum") / examples


def accumulate(total, parts):
    if total is None:
        return [p.detach().clone() for p in parts]
    torch._foreach_add_(total, [p.detach() for p in parts])
    return total


def gradient(model, params, chunks, examples):
    total = None
    for images, labels in chunks:
        total = accumulate(total, torch.autograd.grad(chunk_loss(model(images), labels, examples), params))
    return total


def hvp_double_backward(model, params, chunks, examples, v):
    total = None
    for images, labels in chunks:
        g = torch.autograd.grad(chunk_loss(model(images), labels, examples), params, create_graph=True)
        total = accumulate(total, torch.autograd.grad(g, params, grad_outputs=v))
    return total


def hvp_forward_over_reverse(model, names, params, buffers, chunks, examples, v):
    from torch.func import functional_call, grad, jvp

    primals = {n: p.detach() for n, p in zip(names, params)}
    tangents = {n: t for n, t in zip(names, v)}
    total = None
    for images, labels in chunks:
        def loss(weights, images=images, labels=labels):
            return chunk_loss(functional_call(model, (weights, buffers), (images,)), labels, examples)

        _, product = jvp(grad(loss), (primals,), (tangents,))
        total = accumulate(total, [product[n] for n in names])
    return total


def relative_difference(a, b):
    """max|a-b| / max|b| over all the parameters' entries together."""
    difference = max(float((x - y).abs().max()) for x, y in zip(a, b))
    scale = max(float(y.abs().max()) for y in b)
    return difference / scale if scale > 0 else difference


class PeakMemory:
    """The peak memory since reset(): CUDA, torch's allocated tensors; else the process's VmHWM (Linux)."""

    def __init__(self, device):
        self.device = device

    def reset(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            return
        try:
            with open("/proc/self/clear_refs", "w") as clear_refs:
                clear_refs.write("5")  # resets VmHWM to the current resident set
        except OSError:
            pass

    def mib(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        try:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024  # kB
        except OSError:
            pass
        return float("nan")


def analyse(args, device, synchronize):
    try:  # now, so that its import-time warnings (on stderr) come before the table
        import torch.func  # noqa: F401
    except Exception:  # noqa: BLE001: reported per model as the forward-over-reverse column's n/a
        pass
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    examples, chunk, rounds = args.examples, args.chunk, args.rounds
    print(f"pytorch (python) analysis: torch {torch.__version__}, device {args.device} ({name}), "
          f"{torch.get_num_threads()} threads, {examples} examples in chunks of {chunk}, eval mode, float32, "
          f"mean cross-entropy, fastest of {rounds} rounds", flush=True)
    memory = "peak_mib" if device.type == "cuda" else "peak_rss_mib"
    print(f"# {'model':<8} {'params':>9} {'grad_s':>10} {'hvp_db_s':>10} {'hvp_fr_s':>10} {memory:>12}   "
          f"# hvp/grad per method, peak of each method, notes", flush=True)
    peak = PeakMemory(device)

    def fastest(compute):
        compute()  # warm-up (cuDNN picks its algorithms, the allocator fills its cache)
        synchronize()
        best = float("inf")
        for _ in range(rounds):
            synchronize()
            start = time.perf_counter()
            compute()
            synchronize()
            best = min(best, time.perf_counter() - start)
        return best

    for model_name in args.models.split(","):
        if model_name not in MODELS:
            print(f"{model_name:<10} (no Python definition)", flush=True)
            continue
        torch.manual_seed(0)
        model = MODELS[model_name]().to(device).eval()
        names, params = zip(*[(n, p) for n, p in model.named_parameters() if p.requires_grad])
        params = list(params)
        buffers = dict(model.named_buffers())
        count = sum(p.numel() for p in params)
        chunks = analysis_inputs(model_name, examples, chunk, device)
        v = [torch.randn(p.shape).to(device) for p in params]

        grad_s = fastest(lambda: gradient(model, params, chunks, examples))
        peak.reset()
        db_s = fastest(lambda: hvp_double_backward(model, params, chunks, examples, v))
        db_mib = peak.mib()
        notes = []
        peak.reset()
        try:
            fr_s = fastest(lambda: hvp_forward_over_reverse(model, names, params, buffers, chunks, examples, v))
            fr_mib = peak.mib()
        except Exception as error:  # noqa: BLE001: a missing forward derivative, reported as n/a
            fr_s, fr_mib = float("nan"), float("nan")
            reason = (str(error).strip().splitlines() or [""])[0]
            notes.append(f"fr n/a: {type(error).__name__}: {reason[:120]}")
        fr_ok = fr_s == fr_s
        peak_mib = max(db_mib, fr_mib) if fr_ok else db_mib
        ratios = f"db/grad {db_s / grad_s:.3f} fr/grad " + (f"{fr_s / grad_s:.3f}" if fr_ok else "n/a")
        peaks = f"peak db {db_mib:.1f} fr " + (f"{fr_mib:.1f}" if fr_ok else "n/a") + " MiB"
        fr_text = f"{fr_s:10.6f}" if fr_ok else f"{'nan':>10}"
        print(f"{model_name:<10} {count:9d} {grad_s:10.6f} {db_s:10.6f} {fr_text} {peak_mib:12.1f}   # "
              + "; ".join([ratios, peaks] + notes), flush=True)

        if args.check:
            whole = [(torch.cat([c[0] for c in chunks]), torch.cat([c[1] for c in chunks]))]  # one chunk of N
            g_chunked = gradient(model, params, chunks, examples)
            g_whole = gradient(model, params, whole, examples)
            db_chunked = hvp_double_backward(model, params, chunks, examples, v)
            db_whole = hvp_double_backward(model, params, whole, examples, v)
            line = (f"# check {model_name}: max|a-b|/max|b|: grad chunks of {chunk} vs one of {examples} "
                    f"{relative_difference(g_chunked, g_whole):.2e}, hvp_db chunks vs one "
                    f"{relative_difference(db_chunked, db_whole):.2e}, hvp_fr vs hvp_db (chunks) ")
            if fr_ok:
                fr_chunked = hvp_forward_over_reverse(model, names, params, buffers, chunks, examples, v)
                line += f"{relative_difference(fr_chunked, db_chunked):.2e}"
            else:
                line += "n/a"
            norm = lambda parts: float(torch.linalg.vector_norm(torch.cat([p.flatten() for p in parts])))
            line += f"; |grad| {norm(g_chunked):.6e}, |hvp_db| {norm(db_chunked):.6e}"
            print(line, flush=True)
        del model, params, buffers, chunks, v


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--models", default="resnet20,wrn28-10")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (default 9; 3 with --analysis)")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: every core)")
    parser.add_argument("--analysis", action="store_true",
                        help="time a gradient and Hessian-vector products instead of training steps")
    parser.add_argument("--examples", type=int, default=None, help="--analysis: examples N (default 256)")
    parser.add_argument("--chunk", type=int, default=None, help="--analysis: examples per chunk (default 256)")
    parser.add_argument("--check", action="store_true",
                        help="--analysis: also print the differences between chunkings and between product methods")
    args = parser.parse_args()
    if args.threads < 0:
        parser.error(f"--threads {args.threads}: must be 0 (every core) or positive")
    if not args.analysis:
        for flag, value in (("--examples", args.examples), ("--chunk", args.chunk), ("--check", args.check or None)):
            if value is not None:
                parser.error(f"{flag} applies only with --analysis")
    args.rounds = args.rounds if args.rounds is not None else (3 if args.analysis else 9)
    args.examples = args.examples if args.examples is not None else 256
    args.chunk = args.chunk if args.chunk is not None else 256
    for flag, value in (("--rounds", args.rounds), ("--examples", args.examples), ("--chunk", args.chunk)):
        if args.analysis and value < 1:
            parser.error(f"{flag} {value}: must be positive")
    torch.set_num_threads(args.threads if args.threads > 0 else (os.cpu_count() or 1))
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if args.analysis:
        analyse(args, device, synchronize)
        return
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

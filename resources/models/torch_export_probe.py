#!/usr/bin/env python3
"""Can a torch.export program be trained and differentiated twice from C++? Checks it on this torch.

    python3 resources/models/torch_export_probe.py

TorchScript is deprecated upstream in favour of torch.export, and samscape loads TorchScript. This
prints, for the small GELU/dropout example net of export_model.py, what torch.export offers a C++
trainer with this torch:
  1. the model exports to an ExportedProgram (.pt2);
  2. LibTorch runs such a program only through AOTInductor (torch._inductor.aoti_compile_and_package, then
     torch::inductor::AOTIModelPackageLoader in C++): a compiled forward whose weights are constants and
     whose outputs carry no autograd graph, so it cannot be trained or give Hessian-vector products;
  3. the Hessian-vector product itself, exported as a graph (parameters as inputs), by functorch
     (jvp of grad) and by torch.autograd.grad inside forward: whether torch.export traces it.
Takes about a minute (AOTInductor compiles C++).
"""
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

warnings.simplefilter("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import export_model  # noqa: E402


def main() -> None:
    torch.manual_seed(0)
    model = export_model.GeluDropoutNet(1, 28, 10).eval()
    x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
    names = [name for name, _ in model.named_parameters()]
    params = tuple(p.detach().requires_grad_() for p in model.parameters())
    v = tuple(torch.randn_like(p) for p in params)
    print(f"torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as directory:
        program = torch.export.export(model, (x,))
        torch.export.save(program, f"{directory}/model.pt2")
        print("1. torch.export.export and torch.export.save: ok")
        start = time.time()
        package = torch._inductor.aoti_compile_and_package(program, package_path=f"{directory}/aoti.pt2")
        output = torch._inductor.aoti_load_package(package)(x)
        print(f"2. AOTInductor package ({time.time() - start:.0f} s to compile): output requires_grad = "
              f"{output.requires_grad} (weights are constants; no autograd)")

    class FunctorchProduct(torch.nn.Module):
        def forward(self, p, x, y, v):
            def loss(q):
                return torch.nn.functional.cross_entropy(torch.func.functional_call(model, dict(zip(names, q)), (x,)), y)
            return torch.func.jvp(torch.func.grad(loss), (p,), (v,))[1]

    class AutogradProduct(torch.nn.Module):
        def forward(self, p, x, y, v):
            out = torch.func.functional_call(model, dict(zip(names, p)), (x,))
            g = torch.autograd.grad(torch.nn.functional.cross_entropy(out, y), p, create_graph=True)
            return torch.autograd.grad(sum((gi * vi).sum() for gi, vi in zip(g, v)), p)

    for label, module in (("jvp of grad (functorch)", FunctorchProduct()), ("autograd.grad twice", AutogradProduct())):
        try:
            torch.export.export(module, (params, x, y, v))
            print(f"3. Hessian-vector product by {label}: exported")
        except Exception as error:  # what torch.export says is the finding
            print(f"3. Hessian-vector product by {label}: not exported: {str(error).splitlines()[0][:160]}")


if __name__ == "__main__":
    main()

#pragma once
// The arithmetic of a training step's forward and backward passes: a plain value type, no LibTorch.

#include "core/NamedEnum.h"

namespace samscape {

// fp32 throughout, or bf16: the forward pass under LibTorch's autocast in bfloat16 (matrix products
// and convolutions in bf16, reductions and the loss in fp32), on the CPU and on CUDA alike. The
// weights, gradients and optimizer state stay fp32 ("master weights"), so no loss scaling is needed:
// bf16 has fp32's exponent range.
enum class Precision { Fp32, Bf16 };
inline const EnumNames<Precision>& names(Precision) {
  static const EnumNames<Precision> list{{Precision::Fp32, "fp32"}, {Precision::Bf16, "bf16"}};
  return list;
}

}  // namespace samscape

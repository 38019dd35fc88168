#pragma once
// The two ways of computing a Hessian-vector product, and what choosing between them measured. Plain
// C++ (no LibTorch), so that the analyses' public headers and the GUI can name them.

#include <cstdint>
#include <string>

namespace samscape {

// How a Hessian-vector product is computed; both are exact (Pearlmutter 1994, "Fast exact
// multiplication by the Hessian") and agree to rounding.
enum class ProductMethod {
  // Reverse over reverse: g = grad(L, w) with create_graph, then grad(g . v, w). Works for any
  // twice-differentiable network; the second backward pass runs through the first's graph.
  DoubleBackward,
  // Forward over reverse: w carries v as a forward-mode tangent (a dual number) and the tangent of
  // grad(L, w) is H v: one forward and one backward pass, each carrying tangents, with no second graph.
  // Usually the faster on convolutional networks, the slower on small dense ones (samscape-bench's
  // analysis table times both per model). Needs a forward derivative of every backward operation:
  // LibTorch 2.x has them for the built-in models' operations, not for all (native batch norm's).
  ForwardOverReverse,
};
const char* productMethodName(ProductMethod method);  // "double backward", "forward over reverse"

// What DatasetObjective::chooseProductMethod measured.
struct ProductMethodChoice {
  ProductMethod method = ProductMethod::DoubleBackward;
  std::int64_t examples = 0;               // the probe's examples
  double doubleBackwardSeconds = 0.0;      // one product over them, the faster of two
  double forwardOverReverseSeconds = 0.0;  // NaN when the network does not support it
  std::string forwardOverReverseError;     // why not, when it does not
};

}  // namespace samscape

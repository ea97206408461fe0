// Derived from IREE (tests/e2e/tensor_ops/collapse_shape.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @collapse_shape_i32() -> tensor<4xi32> {
    %cst = arith.constant dense<[[1, 2, 3, 4]]> : tensor<1x4xi32>
    %0 = util.optimization_barrier %cst : tensor<1x4xi32>
    %collapsed = tensor.collapse_shape %0 [[0, 1]] : tensor<1x4xi32> into tensor<4xi32>
    return %collapsed : tensor<4xi32>
  }
  func.func @collapse_shape_i64() -> tensor<4xi64> {
    %cst = arith.constant dense<[[1, 2, 3, 4]]> : tensor<1x4xi64>
    %0 = util.optimization_barrier %cst : tensor<1x4xi64>
    %collapsed = tensor.collapse_shape %0 [[0, 1]] : tensor<1x4xi64> into tensor<4xi64>
    return %collapsed : tensor<4xi64>
  }
}

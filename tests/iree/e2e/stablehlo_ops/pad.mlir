// Derived from IREE (tests/e2e/stablehlo_ops/pad.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @pad_test(%arg0: tensor<2x3xi32>) -> tensor<3x9xi32> {
    %cst = arith.constant dense<0> : tensor<i32>
    %0 = stablehlo.pad %arg0, %cst, low = [0, 1], high = [1, 5], interior = [0, 0] : (tensor<2x3xi32>, tensor<i32>) -> tensor<3x9xi32>
    return %0 : tensor<3x9xi32>
  }
  func.func @pad_no_op(%arg0: tensor<2x3xi32>) -> (tensor<2x3xi32>, tensor<2x3xi32>) {
    %cst = arith.constant dense<0> : tensor<i32>
    %0 = stablehlo.pad %arg0, %cst, low = [0, 0], high = [0, 0], interior = [0, 0] : (tensor<2x3xi32>, tensor<i32>) -> tensor<2x3xi32>
    return %0, %arg0 : tensor<2x3xi32>, tensor<2x3xi32>
  }
}

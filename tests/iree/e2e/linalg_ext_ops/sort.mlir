// Derived from IREE (tests/e2e/linalg_ext_ops/sort.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @sort2D(%arg0: tensor<2x2xi32>) -> tensor<2x2xi32> {
    %0 = iree_linalg_ext.sort dimension(0) outs(%arg0 : tensor<2x2xi32>) {
    ^bb0(%arg1: i32, %arg2: i32):
      %1 = arith.cmpi slt, %arg1, %arg2 : i32
      iree_linalg_ext.yield %1 : i1
    } -> tensor<2x2xi32>
    return %0 : tensor<2x2xi32>
  }
}

// Derived from IREE (tests/e2e/tosa_ops/gather.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @gather_float() -> tensor<1x2x2xf32> {
    %cst = arith.constant dense<[[[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]]> : tensor<1x2x2xf32>
    %0 = tosa.const  values(dense<[[1, 0]]> : tensor<1x2xi32>) : () -> tensor<1x2xi32>
    %1 = tosa.gather %cst, %0 : (tensor<1x2x2xf32>, tensor<1x2xi32>) -> tensor<1x2x2xf32>
    return %1 : tensor<1x2x2xf32>
  }
  func.func @gather_int() -> tensor<1x2x2xi32> {
    %cst = arith.constant dense<[[[1, 2], [3, 4]]]> : tensor<1x2x2xi32>
    %0 = tosa.const  values(dense<[[1, 0]]> : tensor<1x2xi32>) : () -> tensor<1x2xi32>
    %1 = tosa.gather %cst, %0 : (tensor<1x2x2xi32>, tensor<1x2xi32>) -> tensor<1x2x2xi32>
    return %1 : tensor<1x2x2xi32>
  }
}

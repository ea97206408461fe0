// Derived from IREE (tests/e2e/stablehlo_ops/concatenate.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @xla_concatenate(%arg0: tensor<2x2xi32>, %arg1: tensor<2x3xi32>, %arg2: tensor<2x2xi32>) -> (tensor<2x5xi32>, tensor<2x5xi32>, tensor<2x7xi32>, tensor<4x2xi32>) {
    %0 = stablehlo.concatenate %arg0, %arg1, dim = 1 : (tensor<2x2xi32>, tensor<2x3xi32>) -> tensor<2x5xi32>
    %1 = stablehlo.concatenate %arg1, %arg0, dim = 1 : (tensor<2x3xi32>, tensor<2x2xi32>) -> tensor<2x5xi32>
    %2 = stablehlo.concatenate %arg0, %arg1, %arg2, dim = 1 : (tensor<2x2xi32>, tensor<2x3xi32>, tensor<2x2xi32>) -> tensor<2x7xi32>
    %3 = stablehlo.concatenate %arg0, %arg2, dim = 0 : (tensor<2x2xi32>, tensor<2x2xi32>) -> tensor<4x2xi32>
    return %0, %1, %2, %3 : tensor<2x5xi32>, tensor<2x5xi32>, tensor<2x7xi32>, tensor<4x2xi32>
  }
  func.func @concatenate_cst(%arg0: tensor<2x2xi32>) -> tensor<2x5xi32> {
    %c = stablehlo.constant dense<0> : tensor<2x3xi32>
    %0 = stablehlo.concatenate %arg0, %c, dim = 1 : (tensor<2x2xi32>, tensor<2x3xi32>) -> tensor<2x5xi32>
    return %0 : tensor<2x5xi32>
  }
}

// Derived from IREE (tests/e2e/stablehlo_ops/torch_index_select.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @torch_select_index_0(%arg0: tensor<5x1x5xi32>, %arg1: tensor<2xi32>) -> tensor<2x1x5xi32> {
    %0 = "stablehlo.torch_index_select"(%arg0, %arg1) <{batch_dims = 0 : i64, dim = 0 : i64}> : (tensor<5x1x5xi32>, tensor<2xi32>) -> tensor<2x1x5xi32>
    return %0 : tensor<2x1x5xi32>
  }
  func.func @torch_select_index_1(%arg0: tensor<3x2x2xi32>, %arg1: tensor<2xi32>) -> tensor<3x2x2xi32> {
    %0 = "stablehlo.torch_index_select"(%arg0, %arg1) <{batch_dims = 0 : i64, dim = 1 : i64}> : (tensor<3x2x2xi32>, tensor<2xi32>) -> tensor<3x2x2xi32>
    return %0 : tensor<3x2x2xi32>
  }
  func.func @torch_select_index_2(%arg0: tensor<5x1x5xi32>, %arg1: tensor<i32>) -> tensor<1x5xi32> {
    %0 = "stablehlo.torch_index_select"(%arg0, %arg1) <{batch_dims = 0 : i64, dim = 0 : i64}> : (tensor<5x1x5xi32>, tensor<i32>) -> tensor<1x5xi32>
    return %0 : tensor<1x5xi32>
  }
}

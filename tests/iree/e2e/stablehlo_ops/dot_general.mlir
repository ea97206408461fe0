// Derived from IREE (tests/e2e/stablehlo_ops/dot_general.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @dot_general_lower(%arg0: tensor<1x1x2xf32>, %arg1: tensor<2x3xf32>) -> tensor<1x1x3xf32> {
    %0 = stablehlo.dot_general %arg0, %arg1, contracting_dims = [2] x [0], precision = [DEFAULT, DEFAULT] : (tensor<1x1x2xf32>, tensor<2x3xf32>) -> tensor<1x1x3xf32>
    return %0 : tensor<1x1x3xf32>
  }
  func.func @dot_general_lower_swapped(%arg0: tensor<2x3xf32>, %arg1: tensor<1x1x2xf32>) -> tensor<3x1x1xf32> {
    %0 = stablehlo.dot_general %arg0, %arg1, contracting_dims = [0] x [2], precision = [DEFAULT, DEFAULT] : (tensor<2x3xf32>, tensor<1x1x2xf32>) -> tensor<3x1x1xf32>
    return %0 : tensor<3x1x1xf32>
  }
  func.func @dot_general_trivial_batching_dimension(%arg0: tensor<1x2x3xf32>, %arg1: tensor<1x3x4xf32>) -> tensor<1x2x4xf32> {
    %0 = stablehlo.dot_general %arg0, %arg1, batching_dims = [0] x [0], contracting_dims = [2] x [1], precision = [DEFAULT, DEFAULT] : (tensor<1x2x3xf32>, tensor<1x3x4xf32>) -> tensor<1x2x4xf32>
    return %0 : tensor<1x2x4xf32>
  }
  func.func @dot_general_matmul(%arg0: tensor<2x4xf32>, %arg1: tensor<4x2xf32>) -> tensor<2x2xf32> {
    %0 = stablehlo.dot_general %arg0, %arg1, contracting_dims = [1] x [0] : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>
    return %0 : tensor<2x2xf32>
  }
  func.func @dot_general_matmul_i32.i32.i32(%arg0: tensor<2x4xi32>, %arg1: tensor<4x2xi32>) -> tensor<2x2xi32> {
    %0 = stablehlo.dot_general %arg0, %arg1, contracting_dims = [1] x [0] : (tensor<2x4xi32>, tensor<4x2xi32>) -> tensor<2x2xi32>
    return %0 : tensor<2x2xi32>
  }
  func.func @dot_general_nontrivial_batching_dimension(%arg0: tensor<2x2x3xf32>, %arg1: tensor<2x3x4xf32>) -> tensor<2x2x4xf32> {
    %0 = stablehlo.dot_general %arg0, %arg1, batching_dims = [0] x [0], contracting_dims = [2] x [1], precision = [DEFAULT, DEFAULT] : (tensor<2x2x3xf32>, tensor<2x3x4xf32>) -> tensor<2x2x4xf32>
    return %0 : tensor<2x2x4xf32>
  }
  func.func @large_dot_general(%arg0: tensor<4x8x128xf32>, %arg1: tensor<4x128x16xf32>) -> tensor<4x8x16xf32> {
    %0 = stablehlo.dot_general %arg0, %arg1, batching_dims = [0] x [0], contracting_dims = [2] x [1], precision = [DEFAULT, DEFAULT] : (tensor<4x8x128xf32>, tensor<4x128x16xf32>) -> tensor<4x8x16xf32>
    return %0 : tensor<4x8x16xf32>
  }
  func.func @dot_general_nontrivial_batching_multiple_parallel_dimension(%arg0: tensor<2x3x2x1xf32>, %arg1: tensor<2x2x1xf32>) -> tensor<2x2x3x2xf32> {
    %0 = stablehlo.dot_general %arg0, %arg1, batching_dims = [2] x [1], contracting_dims = [3] x [2], precision = [DEFAULT, DEFAULT] : (tensor<2x3x2x1xf32>, tensor<2x2x1xf32>) -> tensor<2x2x3x2xf32>
    return %0 : tensor<2x2x3x2xf32>
  }
}

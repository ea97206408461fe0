// Derived from IREE (tests/e2e/linalg_ext_ops/scan.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @scan_1d_dim0_inclusive_sum(%arg0: tensor<6xf32>, %arg1: tensor<f32>) -> (tensor<6xf32>, tensor<f32>) {
    %0 = tensor.empty() : tensor<6xf32>
    %1:2 = iree_linalg_ext.scan dimension(0) inclusive(true) ins(%arg0 : tensor<6xf32>) outs(%0, %arg1 : tensor<6xf32>, tensor<f32>) {
    ^bb0(%arg2: f32, %arg3: f32):
      %2 = arith.addf %arg2, %arg3 : f32
      iree_linalg_ext.yield %2 : f32
    } -> tensor<6xf32>, tensor<f32>
    return %1#0, %1#1 : tensor<6xf32>, tensor<f32>
  }
  func.func @scan_1d_dim0_exclusive_sum(%arg0: tensor<6xf32>, %arg1: tensor<f32>) -> (tensor<6xf32>, tensor<f32>) {
    %0 = tensor.empty() : tensor<6xf32>
    %1:2 = iree_linalg_ext.scan dimension(0) inclusive(false) ins(%arg0 : tensor<6xf32>) outs(%0, %arg1 : tensor<6xf32>, tensor<f32>) {
    ^bb0(%arg2: f32, %arg3: f32):
      %2 = arith.addf %arg2, %arg3 : f32
      iree_linalg_ext.yield %2 : f32
    } -> tensor<6xf32>, tensor<f32>
    return %1#0, %1#1 : tensor<6xf32>, tensor<f32>
  }
  func.func @scan_1d_dim0_inclusive_mul(%arg0: tensor<6xi32>, %arg1: tensor<i32>) -> (tensor<6xi32>, tensor<i32>) {
    %0 = tensor.empty() : tensor<6xi32>
    %1:2 = iree_linalg_ext.scan dimension(0) inclusive(true) ins(%arg0 : tensor<6xi32>) outs(%0, %arg1 : tensor<6xi32>, tensor<i32>) {
    ^bb0(%arg2: i32, %arg3: i32):
      %2 = arith.muli %arg2, %arg3 : i32
      iree_linalg_ext.yield %2 : i32
    } -> tensor<6xi32>, tensor<i32>
    return %1#0, %1#1 : tensor<6xi32>, tensor<i32>
  }
  func.func @scan_2d_dim0_inclusive_sum(%arg0: tensor<2x3xi32>, %arg1: tensor<3xi32>) -> (tensor<2x3xi32>, tensor<3xi32>) {
    %0 = tensor.empty() : tensor<2x3xi32>
    %1:2 = iree_linalg_ext.scan dimension(0) inclusive(true) ins(%arg0 : tensor<2x3xi32>) outs(%0, %arg1 : tensor<2x3xi32>, tensor<3xi32>) {
    ^bb0(%arg2: i32, %arg3: i32):
      %2 = arith.addi %arg2, %arg3 : i32
      iree_linalg_ext.yield %2 : i32
    } -> tensor<2x3xi32>, tensor<3xi32>
    return %1#0, %1#1 : tensor<2x3xi32>, tensor<3xi32>
  }
  func.func @scan_2d_dim1_inclusive_sum(%arg0: tensor<2x3xi32>, %arg1: tensor<2xi32>) -> (tensor<2x3xi32>, tensor<2xi32>) {
    %0 = tensor.empty() : tensor<2x3xi32>
    %1:2 = iree_linalg_ext.scan dimension(1) inclusive(true) ins(%arg0 : tensor<2x3xi32>) outs(%0, %arg1 : tensor<2x3xi32>, tensor<2xi32>) {
    ^bb0(%arg2: i32, %arg3: i32):
      %2 = arith.addi %arg2, %arg3 : i32
      iree_linalg_ext.yield %2 : i32
    } -> tensor<2x3xi32>, tensor<2xi32>
    return %1#0, %1#1 : tensor<2x3xi32>, tensor<2xi32>
  }
}

// Derived from IREE (tests/e2e/linalg_ext_ops/scatter.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @scatter_2d_origin(%arg0: tensor<2x2xi32>, %arg1: tensor<1xi32>, %arg2: tensor<1x2xi32>) -> tensor<2x2xi32> {
    %0 = iree_linalg_ext.scatter dimension_map = [0, 1] unique_indices(true) ins(%arg1, %arg2 : tensor<1xi32>, tensor<1x2xi32>) outs(%arg0 : tensor<2x2xi32>) {
    ^bb0(%arg3: i32, %arg4: i32):
      iree_linalg_ext.yield %arg3 : i32
    } -> tensor<2x2xi32>
    return %0 : tensor<2x2xi32>
  }
  func.func @scatter_2d_offset(%arg0: tensor<2x2xi32>, %arg1: tensor<1xi32>, %arg2: tensor<1x2xi32>) -> tensor<2x2xi32> {
    %0 = iree_linalg_ext.scatter dimension_map = [0, 1] unique_indices(true) ins(%arg1, %arg2 : tensor<1xi32>, tensor<1x2xi32>) outs(%arg0 : tensor<2x2xi32>) {
    ^bb0(%arg3: i32, %arg4: i32):
      iree_linalg_ext.yield %arg3 : i32
    } -> tensor<2x2xi32>
    return %0 : tensor<2x2xi32>
  }
  func.func @scatter_2d_offset_swapped(%arg0: tensor<2x2xi32>, %arg1: tensor<1xi32>, %arg2: tensor<1x2xi32>) -> tensor<2x2xi32> {
    %0 = iree_linalg_ext.scatter dimension_map = [1, 0] unique_indices(true) ins(%arg1, %arg2 : tensor<1xi32>, tensor<1x2xi32>) outs(%arg0 : tensor<2x2xi32>) {
    ^bb0(%arg3: i32, %arg4: i32):
      iree_linalg_ext.yield %arg3 : i32
    } -> tensor<2x2xi32>
    return %0 : tensor<2x2xi32>
  }
  func.func @scatter_2d_multiple(%arg0: tensor<2x2xi32>, %arg1: tensor<2xi32>, %arg2: tensor<2x2xi32>) -> tensor<2x2xi32> {
    %0 = iree_linalg_ext.scatter dimension_map = [0, 1] unique_indices(true) ins(%arg1, %arg2 : tensor<2xi32>, tensor<2x2xi32>) outs(%arg0 : tensor<2x2xi32>) {
    ^bb0(%arg3: i32, %arg4: i32):
      iree_linalg_ext.yield %arg3 : i32
    } -> tensor<2x2xi32>
    return %0 : tensor<2x2xi32>
  }
  func.func @scatter_2d_unit_batch(%arg0: tensor<2x2xi32>, %arg1: tensor<1x2xi32>, %arg2: tensor<1x2x2xi32>) -> tensor<2x2xi32> {
    %0 = iree_linalg_ext.scatter dimension_map = [0, 1] unique_indices(true) ins(%arg1, %arg2 : tensor<1x2xi32>, tensor<1x2x2xi32>) outs(%arg0 : tensor<2x2xi32>) {
    ^bb0(%arg3: i32, %arg4: i32):
      iree_linalg_ext.yield %arg3 : i32
    } -> tensor<2x2xi32>
    return %0 : tensor<2x2xi32>
  }
  func.func @scatter_2d_batch(%arg0: tensor<2x2xi32>, %arg1: tensor<2x2xi32>, %arg2: tensor<2x2x2xi32>) -> tensor<2x2xi32> {
    %0 = iree_linalg_ext.scatter dimension_map = [0, 1] unique_indices(true) ins(%arg1, %arg2 : tensor<2x2xi32>, tensor<2x2x2xi32>) outs(%arg0 : tensor<2x2xi32>) {
    ^bb0(%arg3: i32, %arg4: i32):
      iree_linalg_ext.yield %arg3 : i32
    } -> tensor<2x2xi32>
    return %0 : tensor<2x2xi32>
  }
  func.func @scatter_operand_mask_preserves_original(%arg0: tensor<4xi32>, %arg1: tensor<2xi32>, %arg2: tensor<2x1xi32>, %arg3: tensor<2xi1>) -> tensor<4xi32> {
    %0 = iree_linalg_ext.scatter dimension_map = [0] unique_indices(true) ins(%arg1, %arg2, %arg3 : tensor<2xi32>, tensor<2x1xi32>, tensor<2xi1>) outs(%arg0 : tensor<4xi32>) {
    ^bb0(%arg4: i32, %arg5: i32):
      iree_linalg_ext.yield %arg4 : i32
    } -> tensor<4xi32>
    return %0 : tensor<4xi32>
  }
}

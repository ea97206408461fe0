// Derived from IREE (tests/e2e/linalg_ext_ops/map_load.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @copy_like(%arg0: tensor<4x16x64xf32>) -> (tensor<4x16x64xf32>, tensor<4x16x64xf32>) {
    %0 = tensor.empty() : tensor<4x16x64xf32>
    %cst = arith.constant 0.000000e+00 : f32
    %1 = iree_linalg_ext.map_load %arg0 into %0 {
    ^bb0(%arg1: index, %arg2: index, %arg3: index):
      iree_linalg_ext.yield %arg1, %arg2, %arg3, %cst : index, index, index, f32
    } : tensor<4x16x64xf32> into tensor<4x16x64xf32> -> tensor<4x16x64xf32>
    return %1, %arg0 : tensor<4x16x64xf32>, tensor<4x16x64xf32>
  }
  func.func @expand_shape_like(%arg0: tensor<16xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
    %cst = arith.constant 0.000000e+00 : f32
    %0 = tensor.empty() : tensor<4x4xf32>
    %1 = iree_linalg_ext.map_load %arg0 into %0 {
    ^bb0(%arg1: index, %arg2: index):
      %2 = affine.linearize_index disjoint [%arg1, %arg2] by (4, 4) : index
      iree_linalg_ext.yield %2, %cst : index, f32
    } : tensor<16xf32> into tensor<4x4xf32> -> tensor<4x4xf32>
    %expanded = tensor.expand_shape %arg0 [[0, 1]] output_shape [4, 4] : tensor<16xf32> into tensor<4x4xf32>
    return %1, %expanded : tensor<4x4xf32>, tensor<4x4xf32>
  }
  func.func @collapse_shape_like(%arg0: tensor<4x4xi32>) -> (tensor<16xi32>, tensor<16xi32>) {
    %c0_i32 = arith.constant 0 : i32
    %0 = tensor.empty() : tensor<16xi32>
    %1 = iree_linalg_ext.map_load %arg0 into %0 {
    ^bb0(%arg1: index):
      %2:2 = affine.delinearize_index %arg1 into (4, 4) : index, index
      iree_linalg_ext.yield %2#0, %2#1, %c0_i32 : index, index, i32
    } : tensor<4x4xi32> into tensor<16xi32> -> tensor<16xi32>
    %collapsed = tensor.collapse_shape %arg0 [[0, 1]] : tensor<4x4xi32> into tensor<16xi32>
    return %1, %collapsed : tensor<16xi32>, tensor<16xi32>
  }
  func.func @pad_slice_like(%arg0: tensor<4xf32>, %arg1: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
    %cst = arith.constant 0.000000e+00 : f32
    %0 = tensor.empty() : tensor<8xf32>
    %1 = iree_linalg_ext.map_load %arg0 into %0 {
    ^bb0(%arg2: index):
      iree_linalg_ext.yield %arg2, %cst : index, f32
    } : tensor<4xf32> into tensor<8xf32> -> tensor<8xf32>
    return %1, %arg1 : tensor<8xf32>, tensor<8xf32>
  }
}

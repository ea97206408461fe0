// Derived from IREE (tests/e2e/linalg_ext_ops/gather.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

#map = affine_map<(d0) -> (d0)>
module {
  func.func @gather_from_splat_tensor(%arg0: tensor<10x10xi32>, %arg1: tensor<1xi32>) -> tensor<1x10xi32> {
    %0 = tensor.empty() : tensor<1x10xi32>
    %1 = iree_linalg_ext.gather dimension_map = [0] ins(%arg0, %arg1 : tensor<10x10xi32>, tensor<1xi32>) outs(%0 : tensor<1x10xi32>) -> tensor<1x10xi32>
    return %1 : tensor<1x10xi32>
  }
  func.func @gather_2d_index_with_batch(%arg0: tensor<2x2xi32>, %arg1: tensor<2x2xi32>) -> tensor<2xi32> {
    %0 = tensor.empty() : tensor<2xi32>
    %1 = iree_linalg_ext.gather dimension_map = [0, 1] ins(%arg0, %arg1 : tensor<2x2xi32>, tensor<2x2xi32>) outs(%0 : tensor<2xi32>) -> tensor<2xi32>
    return %1 : tensor<2xi32>
  }
  func.func @gather_2d_index_no_batch(%arg0: tensor<2x2x1xi32>, %arg1: tensor<2xi32>) -> tensor<1xi32> {
    %0 = tensor.empty() : tensor<1xi32>
    %1 = iree_linalg_ext.gather dimension_map = [0, 1] ins(%arg0, %arg1 : tensor<2x2x1xi32>, tensor<2xi32>) outs(%0 : tensor<1xi32>) -> tensor<1xi32>
    return %1 : tensor<1xi32>
  }
  func.func @gather_1d_index_no_batch(%arg0: tensor<2x2xi32>, %arg1: tensor<1xi32>) -> tensor<2xi32> {
    %0 = tensor.empty() : tensor<2xi32>
    %1 = iree_linalg_ext.gather dimension_map = [0] ins(%arg0, %arg1 : tensor<2x2xi32>, tensor<1xi32>) outs(%0 : tensor<2xi32>) -> tensor<2xi32>
    return %1 : tensor<2xi32>
  }
  func.func @gather_perm_map(%arg0: tensor<2x2x1xi32>, %arg1: tensor<2xi32>) -> tensor<1xi32> {
    %0 = tensor.empty() : tensor<1xi32>
    %1 = iree_linalg_ext.gather dimension_map = [1, 0] ins(%arg0, %arg1 : tensor<2x2x1xi32>, tensor<2xi32>) outs(%0 : tensor<1xi32>) -> tensor<1xi32>
    return %1 : tensor<1xi32>
  }
  func.func @gather_fuse_elementwise(%arg0: tensor<2x2xi32>, %arg1: tensor<1xi32>) -> tensor<2xi32> {
    %c2_i32 = arith.constant 2 : i32
    %0 = tensor.empty() : tensor<2xi32>
    %1 = iree_linalg_ext.gather dimension_map = [0] ins(%arg0, %arg1 : tensor<2x2xi32>, tensor<1xi32>) outs(%0 : tensor<2xi32>) -> tensor<2xi32>
    %2 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%1 : tensor<2xi32>) outs(%0 : tensor<2xi32>) {
    ^bb0(%in: i32, %out: i32):
      %3 = arith.muli %in, %c2_i32 : i32
      linalg.yield %3 : i32
    } -> tensor<2xi32>
    return %2 : tensor<2xi32>
  }
  func.func @gather_operand_mask_preserves_output(%arg0: tensor<2x2xi32>, %arg1: tensor<2x2xi32>, %arg2: tensor<2xi32>, %arg3: tensor<2xi1>) -> tensor<2x2xi32> {
    %0 = iree_linalg_ext.gather dimension_map = [0] ins(%arg0, %arg2, %arg3 : tensor<2x2xi32>, tensor<2xi32>, tensor<2xi1>) outs(%arg1 : tensor<2x2xi32>) -> tensor<2x2xi32>
    return %0 : tensor<2x2xi32>
  }
}

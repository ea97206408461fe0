// Derived from IREE (tests/e2e/linalg_ext_ops/attention_i1_mask.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

#map = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2)>
#map1 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d2)>
#map2 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d4)>
#map3 = affine_map<(d0, d1, d2, d3, d4) -> ()>
#map4 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3)>
#map5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>
module {
  func.func @attention1x4x4_i1_mask(%arg0: tensor<1x4x4xf32>, %arg1: tensor<1x4x4xf32>, %arg2: tensor<1x4x4xf32>, %arg3: tensor<2xi8>) -> tensor<1x4x4xf32> {
    %0 = tensor.empty() : tensor<1x4x4xf32>
    %1 = flow.tensor.bitcast %arg3 : tensor<2xi8> -> tensor<1x4x4xi1, #iree_encoding.packed_storage>
    %cst = arith.constant 5.000000e-01 : f32
    %2 = iree_linalg_ext.attention <indexing_maps = [#map, #map1, #map2, #map3, #map4, #map5]> ins(%arg0, %arg1, %arg2, %cst, %1 : tensor<1x4x4xf32>, tensor<1x4x4xf32>, tensor<1x4x4xf32>, f32, tensor<1x4x4xi1, #iree_encoding.packed_storage>) outs(%0 : tensor<1x4x4xf32>) {
    ^bb0(%arg4: f32):
      iree_linalg_ext.yield %arg4 : f32
    } -> tensor<1x4x4xf32>
    return %2 : tensor<1x4x4xf32>
  }
  func.func @attention1x4x4_i1_mask_all_ones(%arg0: tensor<1x4x4xf32>, %arg1: tensor<1x4x4xf32>, %arg2: tensor<1x4x4xf32>, %arg3: tensor<2xi8>) -> tensor<1x4x4xf32> {
    %0 = tensor.empty() : tensor<1x4x4xf32>
    %1 = flow.tensor.bitcast %arg3 : tensor<2xi8> -> tensor<1x4x4xi1, #iree_encoding.packed_storage>
    %cst = arith.constant 5.000000e-01 : f32
    %2 = iree_linalg_ext.attention <indexing_maps = [#map, #map1, #map2, #map3, #map4, #map5]> ins(%arg0, %arg1, %arg2, %cst, %1 : tensor<1x4x4xf32>, tensor<1x4x4xf32>, tensor<1x4x4xf32>, f32, tensor<1x4x4xi1, #iree_encoding.packed_storage>) outs(%0 : tensor<1x4x4xf32>) {
    ^bb0(%arg4: f32):
      iree_linalg_ext.yield %arg4 : f32
    } -> tensor<1x4x4xf32>
    return %2 : tensor<1x4x4xf32>
  }
  func.func @attention1x4x4_i1_mask_tril(%arg0: tensor<1x4x4xf32>, %arg1: tensor<1x4x4xf32>, %arg2: tensor<1x4x4xf32>, %arg3: tensor<2xi8>) -> tensor<1x4x4xf32> {
    %0 = tensor.empty() : tensor<1x4x4xf32>
    %1 = flow.tensor.bitcast %arg3 : tensor<2xi8> -> tensor<1x4x4xi1, #iree_encoding.packed_storage>
    %cst = arith.constant 5.000000e-01 : f32
    %2 = iree_linalg_ext.attention <indexing_maps = [#map, #map1, #map2, #map3, #map4, #map5]> ins(%arg0, %arg1, %arg2, %cst, %1 : tensor<1x4x4xf32>, tensor<1x4x4xf32>, tensor<1x4x4xf32>, f32, tensor<1x4x4xi1, #iree_encoding.packed_storage>) outs(%0 : tensor<1x4x4xf32>) {
    ^bb0(%arg4: f32):
      iree_linalg_ext.yield %arg4 : f32
    } -> tensor<1x4x4xf32>
    return %2 : tensor<1x4x4xf32>
  }
}

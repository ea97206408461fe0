// Derived from IREE (tests/e2e/linalg_ext_ops/attention.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
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
#map4 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>
#map5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3)>
#map6 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1)>
#map7 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map8 = affine_map<(d0, d1, d2) -> (d0, d1)>
module {
  func.func @attention1x3x4(%arg0: tensor<1x3x4xf32>, %arg1: tensor<1x3x4xf32>, %arg2: tensor<1x3x4xf32>) -> tensor<1x3x4xf32> {
    %0 = tensor.empty() : tensor<1x3x4xf32>
    %cst = arith.constant 5.000000e-01 : f32
    %1 = iree_linalg_ext.attention <indexing_maps = [#map, #map1, #map2, #map3, #map4]> ins(%arg0, %arg1, %arg2, %cst : tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>, f32) outs(%0 : tensor<1x3x4xf32>) {
    ^bb0(%arg3: f32):
      iree_linalg_ext.yield %arg3 : f32
    } -> tensor<1x3x4xf32>
    return %1 : tensor<1x3x4xf32>
  }
  func.func @causal_attention1x3x4(%arg0: tensor<1x3x4xf32>, %arg1: tensor<1x3x4xf32>, %arg2: tensor<1x3x4xf32>, %arg3: tensor<1x3x3xi1>) -> tensor<1x3x4xf32> {
    %0 = tensor.empty() : tensor<1x3x4xf32>
    %cst = arith.constant 5.000000e-01 : f32
    %1 = iree_linalg_ext.attention <indexing_maps = [#map, #map1, #map2, #map3, #map5, #map4]> ins(%arg0, %arg1, %arg2, %cst, %arg3 : tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>, f32, tensor<1x3x3xi1>) outs(%0 : tensor<1x3x4xf32>) {
    ^bb0(%arg4: f32):
      iree_linalg_ext.yield %arg4 : f32
    } -> tensor<1x3x4xf32>
    return %1 : tensor<1x3x4xf32>
  }
  func.func @attention1x4x4_i1_mask_all_ones(%arg0: tensor<1x4x4xf32>, %arg1: tensor<1x4x4xf32>, %arg2: tensor<1x4x4xf32>, %arg3: tensor<1x4x4xi1>) -> tensor<1x4x4xf32> {
    %0 = tensor.empty() : tensor<1x4x4xf32>
    %cst = arith.constant 5.000000e-01 : f32
    %1 = iree_linalg_ext.attention <indexing_maps = [#map, #map1, #map2, #map3, #map5, #map4]> ins(%arg0, %arg1, %arg2, %cst, %arg3 : tensor<1x4x4xf32>, tensor<1x4x4xf32>, tensor<1x4x4xf32>, f32, tensor<1x4x4xi1>) outs(%0 : tensor<1x4x4xf32>) {
    ^bb0(%arg4: f32):
      iree_linalg_ext.yield %arg4 : f32
    } -> tensor<1x4x4xf32>
    return %1 : tensor<1x4x4xf32>
  }
  func.func @softcap_attention1x3x4(%arg0: tensor<1x3x4xf32>, %arg1: tensor<1x3x4xf32>, %arg2: tensor<1x3x4xf32>) -> tensor<1x3x4xf32> {
    %0 = tensor.empty() : tensor<1x3x4xf32>
    %cst = arith.constant 1.000000e+00 : f32
    %1 = iree_linalg_ext.attention <indexing_maps = [#map, #map1, #map2, #map3, #map4]> ins(%arg0, %arg1, %arg2, %cst : tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>, f32) outs(%0 : tensor<1x3x4xf32>) {
    ^bb0(%arg3: f32):
      %2 = math.tanh %arg3 : f32
      %cst_0 = arith.constant 2.000000e+00 : f32
      %3 = arith.mulf %2, %cst_0 : f32
      iree_linalg_ext.yield %3 : f32
    } -> tensor<1x3x4xf32>
    return %1 : tensor<1x3x4xf32>
  }
  func.func @attention1x4x4(%arg0: tensor<1x4x4xf32>, %arg1: tensor<1x4x4xf32>, %arg2: tensor<1x4x4xf32>) -> tensor<1x4x4xf32> {
    %0 = tensor.empty() : tensor<1x4x4xf32>
    %cst = arith.constant 5.000000e-01 : f32
    %1 = iree_linalg_ext.attention <indexing_maps = [#map, #map1, #map2, #map3, #map4]> ins(%arg0, %arg1, %arg2, %cst : tensor<1x4x4xf32>, tensor<1x4x4xf32>, tensor<1x4x4xf32>, f32) outs(%0 : tensor<1x4x4xf32>) {
    ^bb0(%arg3: f32):
      iree_linalg_ext.yield %arg3 : f32
    } -> tensor<1x4x4xf32>
    return %1 : tensor<1x4x4xf32>
  }
  func.func @attention3x3x4(%arg0: tensor<3x3x4xf32>, %arg1: tensor<3x3x4xf32>, %arg2: tensor<3x3x4xf32>) -> tensor<3x3x4xf32> {
    %0 = tensor.empty() : tensor<3x3x4xf32>
    %cst = arith.constant 5.000000e-01 : f32
    %1 = iree_linalg_ext.attention <indexing_maps = [#map, #map1, #map2, #map3, #map4]> ins(%arg0, %arg1, %arg2, %cst : tensor<3x3x4xf32>, tensor<3x3x4xf32>, tensor<3x3x4xf32>, f32) outs(%0 : tensor<3x3x4xf32>) {
    ^bb0(%arg3: f32):
      iree_linalg_ext.yield %arg3 : f32
    } -> tensor<3x3x4xf32>
    return %1 : tensor<3x3x4xf32>
  }
  func.func @online_attention1x3x4(%arg0: tensor<1x3x4xf32>, %arg1: tensor<1x3x4xf32>, %arg2: tensor<1x3x4xf32>) -> tensor<1x3x4xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 0xFF800000 : f32
    %cst_1 = arith.constant 1.000000e+00 : f32
    %cst_2 = arith.constant 5.000000e-01 : f32
    %0 = tensor.empty() : tensor<1x3x4xf32>
    %1 = tensor.empty() : tensor<1x3xf32>
    %2 = linalg.fill ins(%cst : f32) outs(%0 : tensor<1x3x4xf32>) -> tensor<1x3x4xf32>
    %3 = linalg.fill ins(%cst_0 : f32) outs(%1 : tensor<1x3xf32>) -> tensor<1x3xf32>
    %4 = linalg.fill ins(%cst : f32) outs(%1 : tensor<1x3xf32>) -> tensor<1x3xf32>
    %5:3 = iree_linalg_ext.online_attention <indexing_maps = [#map, #map1, #map2, #map3, #map4, #map6, #map6]> ins(%arg0, %arg1, %arg2, %cst_2 : tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>, f32) outs(%2, %3, %4 : tensor<1x3x4xf32>, tensor<1x3xf32>, tensor<1x3xf32>) {
    ^bb0(%arg3: f32):
      iree_linalg_ext.yield %arg3 : f32
    } -> tensor<1x3x4xf32>, tensor<1x3xf32>, tensor<1x3xf32>
    %6 = tensor.empty() : tensor<1x3x4xf32>
    %7 = linalg.generic {indexing_maps = [#map7, #map8, #map7], iterator_types = ["parallel", "parallel", "parallel"]} ins(%5#0, %5#2 : tensor<1x3x4xf32>, tensor<1x3xf32>) outs(%6 : tensor<1x3x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %8 = arith.divf %cst_1, %in_3 : f32
      %9 = arith.mulf %in, %8 : f32
      linalg.yield %9 : f32
    } -> tensor<1x3x4xf32>
    return %7 : tensor<1x3x4xf32>
  }
  func.func @causal_online_attention1x3x4(%arg0: tensor<1x3x4xf32>, %arg1: tensor<1x3x4xf32>, %arg2: tensor<1x3x4xf32>, %arg3: tensor<1x3x3xi1>) -> tensor<1x3x4xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 0xFF800000 : f32
    %cst_1 = arith.constant 1.000000e+00 : f32
    %cst_2 = arith.constant 5.000000e-01 : f32
    %0 = tensor.empty() : tensor<1x3x4xf32>
    %1 = tensor.empty() : tensor<1x3xf32>
    %2 = linalg.fill ins(%cst : f32) outs(%0 : tensor<1x3x4xf32>) -> tensor<1x3x4xf32>
    %3 = linalg.fill ins(%cst_0 : f32) outs(%1 : tensor<1x3xf32>) -> tensor<1x3xf32>
    %4 = linalg.fill ins(%cst : f32) outs(%1 : tensor<1x3xf32>) -> tensor<1x3xf32>
    %5:3 = iree_linalg_ext.online_attention <indexing_maps = [#map, #map1, #map2, #map3, #map5, #map4, #map6, #map6]> ins(%arg0, %arg1, %arg2, %cst_2, %arg3 : tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>, f32, tensor<1x3x3xi1>) outs(%2, %3, %4 : tensor<1x3x4xf32>, tensor<1x3xf32>, tensor<1x3xf32>) {
    ^bb0(%arg4: f32):
      iree_linalg_ext.yield %arg4 : f32
    } -> tensor<1x3x4xf32>, tensor<1x3xf32>, tensor<1x3xf32>
    %6 = tensor.empty() : tensor<1x3x4xf32>
    %7 = linalg.generic {indexing_maps = [#map7, #map8, #map7], iterator_types = ["parallel", "parallel", "parallel"]} ins(%5#0, %5#2 : tensor<1x3x4xf32>, tensor<1x3xf32>) outs(%6 : tensor<1x3x4xf32>) {
    ^bb0(%in: f32, %in_3: f32, %out: f32):
      %8 = arith.divf %cst_1, %in_3 : f32
      %9 = arith.mulf %in, %8 : f32
      linalg.yield %9 : f32
    } -> tensor<1x3x4xf32>
    return %7 : tensor<1x3x4xf32>
  }
}

// Derived from IREE (tests/e2e/linalg_ext_ops/dynamic_attention.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
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
module {
  func.func @dynamic_attention_3x4() -> tensor<1x3x4xf32> {
    %0 = flow.tensor.dynamic_constant dense<[[[1.000000e-01, 2.000000e-01, 3.000000e-01, 4.000000e-01], [5.000000e-01, 6.000000e-01, 0.699999988, 8.000000e-01], [0.899999976, 1.000000e+00, 1.100000e+00, 1.200000e+00]]]> : tensor<1x3x4xf32> -> tensor<?x?x?xf32>
    %1 = flow.tensor.dynamic_constant dense<[[[1.000000e-01, 2.000000e-01, 3.000000e-01, 4.000000e-01], [5.000000e-01, 6.000000e-01, 0.699999988, 8.000000e-01], [0.899999976, 1.000000e+00, 1.100000e+00, 1.200000e+00]]]> : tensor<1x3x4xf32> -> tensor<?x?x?xf32>
    %2 = flow.tensor.dynamic_constant dense<[[[1.000000e-01, 2.000000e-01, 3.000000e-01, 4.000000e-01], [5.000000e-01, 6.000000e-01, 0.699999988, 8.000000e-01], [0.899999976, 1.000000e+00, 1.100000e+00, 1.200000e+00]]]> : tensor<1x3x4xf32> -> tensor<?x?x?xf32>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %0, %c0 : tensor<?x?x?xf32>
    %dim_0 = tensor.dim %0, %c1 : tensor<?x?x?xf32>
    %dim_1 = tensor.dim %0, %c2 : tensor<?x?x?xf32>
    %3 = tensor.empty(%dim, %dim_0, %dim_1) : tensor<?x?x?xf32>
    %cst = arith.constant 5.000000e-01 : f32
    %4 = iree_linalg_ext.attention <indexing_maps = [#map, #map1, #map2, #map3, #map4]> ins(%0, %1, %2, %cst : tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?x?xf32>, f32) outs(%3 : tensor<?x?x?xf32>) {
    ^bb0(%arg0: f32):
      iree_linalg_ext.yield %arg0 : f32
    } -> tensor<?x?x?xf32>
    %5 = util.optimization_barrier %4 : tensor<?x?x?xf32>
    %cast = tensor.cast %5 : tensor<?x?x?xf32> to tensor<1x3x4xf32>
    return %cast : tensor<1x3x4xf32>
  }
  func.func @dynamic_attention_3x3x4() -> tensor<3x3x4xf32> {
    %0 = flow.tensor.dynamic_constant dense<[[[-1.525600e+00, -0.750199973, -0.653999984, -1.609500e+00], [-6.092000e-01, -0.979799985, -1.609100e+00, -7.121000e-01], [4.676000e-01, -6.970000e-01, -1.160800e+00, 6.995000e-01]], [[8.657000e-01, 2.444000e-01, -6.629000e-01, 0.807299971], [-1.759000e-01, -2.245600e+00, -1.446500e+00, 6.120000e-02], [-7.735000e-01, 1.991000e-01, 4.570000e-02, 1.530000e-01]], [[-1.110000e-01, 2.927000e-01, -1.578000e-01, -2.880000e-02], [1.142200e+00, 2.486000e-01, -1.775400e+00, -2.550000e-02], [1.610300e+00, -0.703999996, -1.853000e-01, -9.962000e-01]]]> : tensor<3x3x4xf32> -> tensor<?x?x?xf32>
    %1 = flow.tensor.dynamic_constant dense<[[[-6.092000e-01, -0.979799985, -1.609100e+00, -7.121000e-01], [-7.773000e-01, -2.515000e-01, -2.223000e-01, 1.687100e+00], [4.676000e-01, -6.970000e-01, -1.160800e+00, 6.995000e-01]], [[8.657000e-01, 2.444000e-01, -6.629000e-01, 0.807299971], [-0.798099994, -1.316000e-01, 1.879300e+00, -7.210000e-02], [-7.735000e-01, 1.991000e-01, 4.570000e-02, 1.530000e-01]], [[-1.110000e-01, 2.927000e-01, -1.578000e-01, -2.880000e-02], [1.142200e+00, 2.486000e-01, -1.775400e+00, -2.550000e-02], [1.610300e+00, -0.703999996, -1.853000e-01, -9.962000e-01]]]> : tensor<3x3x4xf32> -> tensor<?x?x?xf32>
    %2 = flow.tensor.dynamic_constant dense<[[[-1.525600e+00, -0.750199973, -0.653999984, -1.609500e+00], [-6.092000e-01, -0.979799985, -1.609100e+00, -7.121000e-01], [4.676000e-01, -6.970000e-01, -1.160800e+00, 6.995000e-01]], [[8.657000e-01, 2.444000e-01, -6.629000e-01, 0.807299971], [-1.759000e-01, -2.245600e+00, -1.446500e+00, 6.120000e-02], [-7.773000e-01, -2.515000e-01, -2.223000e-01, 1.687100e+00]], [[-1.110000e-01, 2.927000e-01, -1.578000e-01, -2.880000e-02], [-5.962000e-01, -1.005500e+00, 4.285000e-01, 1.476100e+00], [1.610300e+00, -0.703999996, -1.853000e-01, -9.962000e-01]]]> : tensor<3x3x4xf32> -> tensor<?x?x?xf32>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %0, %c0 : tensor<?x?x?xf32>
    %dim_0 = tensor.dim %0, %c1 : tensor<?x?x?xf32>
    %dim_1 = tensor.dim %0, %c2 : tensor<?x?x?xf32>
    %3 = tensor.empty(%dim, %dim_0, %dim_1) : tensor<?x?x?xf32>
    %cst = arith.constant 5.000000e-01 : f32
    %4 = iree_linalg_ext.attention <indexing_maps = [#map, #map1, #map2, #map3, #map4]> ins(%0, %1, %2, %cst : tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x?x?xf32>, f32) outs(%3 : tensor<?x?x?xf32>) {
    ^bb0(%arg0: f32):
      iree_linalg_ext.yield %arg0 : f32
    } -> tensor<?x?x?xf32>
    %5 = util.optimization_barrier %4 : tensor<?x?x?xf32>
    %cast = tensor.cast %5 : tensor<?x?x?xf32> to tensor<3x3x4xf32>
    return %cast : tensor<3x3x4xf32>
  }
}

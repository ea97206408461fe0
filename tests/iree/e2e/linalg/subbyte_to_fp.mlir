// Derived from IREE (tests/e2e/linalg/subbyte_to_fp.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

#map = affine_map<(d0) -> (d0)>
#map1 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
module {
  func.func @i4_to_f32_1d() -> tensor<8xf32> {
    %0 = util.unfoldable_constant dense<[0, 1, 2, 3, 4, 5, 6, 7]> : tensor<8xi4>
    %1 = tensor.empty() : tensor<8xf32>
    %2 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%0 : tensor<8xi4>) outs(%1 : tensor<8xf32>) {
    ^bb0(%in: i4, %out: f32):
      %3 = arith.extui %in : i4 to i32
      %4 = arith.uitofp %3 : i32 to f32
      linalg.yield %4 : f32
    } -> tensor<8xf32>
    return %2 : tensor<8xf32>
  }
  func.func @i4_to_f32_3d() -> tensor<8x4x2xf32> {
    %0 = util.unfoldable_constant dense<[[0, 1, 2, 3, 4, 5, 6, 7], [-8, -7, -6, -5, -4, -3, -2, -1], [0, 1, 2, 3, 4, 5, 6, 7], [-8, -7, -6, -5, -4, -3, -2, -1], [0, 1, 2, 3, 4, 5, 6, 7], [-8, -7, -6, -5, -4, -3, -2, -1], [0, 1, 2, 3, 4, 5, 6, 7], [-8, -7, -6, -5, -4, -3, -2, -1]]> : tensor<8x8xi4>
    %expanded = tensor.expand_shape %0 [[0], [1, 2]] output_shape [8, 4, 2] : tensor<8x8xi4> into tensor<8x4x2xi4>
    %1 = tensor.empty() : tensor<8x4x2xf32>
    %2 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded : tensor<8x4x2xi4>) outs(%1 : tensor<8x4x2xf32>) {
    ^bb0(%in: i4, %out: f32):
      %3 = arith.extui %in : i4 to i32
      %4 = arith.uitofp %3 : i32 to f32
      linalg.yield %4 : f32
    } -> tensor<8x4x2xf32>
    return %2 : tensor<8x4x2xf32>
  }
  func.func @i2_to_f32_1d() -> tensor<8xf32> {
    %0 = util.unfoldable_constant dense<[0, 1, -2, -1, -1, -2, 1, 0]> : tensor<8xi2>
    %1 = tensor.empty() : tensor<8xf32>
    %2 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%0 : tensor<8xi2>) outs(%1 : tensor<8xf32>) {
    ^bb0(%in: i2, %out: f32):
      %3 = arith.extui %in : i2 to i32
      %4 = arith.uitofp %3 : i32 to f32
      linalg.yield %4 : f32
    } -> tensor<8xf32>
    return %2 : tensor<8xf32>
  }
  func.func @i2_to_f32_3d() -> tensor<8x4x2xf32> {
    %0 = util.unfoldable_constant dense<[[0, 1, -2, -1, 0, 1, -2, -1], [-1, -2, 1, 0, -2, 1, 0, -1], [0, 1, -2, -1, 0, 1, -2, -1], [-1, -2, 1, 0, -2, 1, 0, -1], [0, 1, -2, -1, 0, 1, -2, -1], [-1, -2, 1, 0, -2, 1, 0, -1], [0, 1, -2, -1, 0, 1, -2, -1], [-1, -2, 1, 0, -2, 1, 0, -1]]> : tensor<8x8xi2>
    %expanded = tensor.expand_shape %0 [[0], [1, 2]] output_shape [8, 4, 2] : tensor<8x8xi2> into tensor<8x4x2xi2>
    %1 = tensor.empty() : tensor<8x4x2xf32>
    %2 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded : tensor<8x4x2xi2>) outs(%1 : tensor<8x4x2xf32>) {
    ^bb0(%in: i2, %out: f32):
      %3 = arith.extui %in : i2 to i32
      %4 = arith.uitofp %3 : i32 to f32
      linalg.yield %4 : f32
    } -> tensor<8x4x2xf32>
    return %2 : tensor<8x4x2xf32>
  }
}

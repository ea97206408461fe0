// Derived from IREE (tests/e2e/linalg/fp_to_subbyte.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

#map = affine_map<(d0) -> (d0)>
module {
  func.func @f32_to_i4_1d(%arg0: tensor<8xf32>) -> tensor<8xi8> {
    %0 = tensor.empty() : tensor<8xi4>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%arg0 : tensor<8xf32>) outs(%0 : tensor<8xi4>) {
    ^bb0(%in: f32, %out: i4):
      %5 = arith.fptoui %in : f32 to i32
      %6 = arith.trunci %5 : i32 to i4
      linalg.yield %6 : i4
    } -> tensor<8xi4>
    %2 = util.optimization_barrier %1 : tensor<8xi4>
    %3 = tensor.empty() : tensor<8xi8>
    %4 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%2 : tensor<8xi4>) outs(%3 : tensor<8xi8>) {
    ^bb0(%in: i4, %out: i8):
      %5 = arith.extui %in : i4 to i8
      linalg.yield %5 : i8
    } -> tensor<8xi8>
    return %4 : tensor<8xi8>
  }
  func.func @f32_to_i2_1d(%arg0: tensor<8xf32>) -> tensor<8xi8> {
    %0 = tensor.empty() : tensor<8xi2>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%arg0 : tensor<8xf32>) outs(%0 : tensor<8xi2>) {
    ^bb0(%in: f32, %out: i2):
      %5 = arith.fptoui %in : f32 to i32
      %6 = arith.trunci %5 : i32 to i2
      linalg.yield %6 : i2
    } -> tensor<8xi2>
    %2 = util.optimization_barrier %1 : tensor<8xi2>
    %3 = tensor.empty() : tensor<8xi8>
    %4 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]} ins(%2 : tensor<8xi2>) outs(%3 : tensor<8xi8>) {
    ^bb0(%in: i2, %out: i8):
      %5 = arith.extui %in : i2 to i8
      linalg.yield %5 : i8
    } -> tensor<8xi8>
    return %4 : tensor<8xi8>
  }
}

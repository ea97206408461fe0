// Derived from IREE (tests/e2e/linalg/fp4_f32_conversion.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

#map = affine_map<(d0) -> (d0)>
module {
  func.func @f4E2M1FN_scaled_to_f32(%arg0: tensor<4xi8>, %arg1: tensor<4xf8E8M0FNU>) -> tensor<4xf32> {
    %0 = tensor.empty() : tensor<4xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel"]} ins(%arg0, %arg1 : tensor<4xi8>, tensor<4xf8E8M0FNU>) outs(%0 : tensor<4xf32>) {
    ^bb0(%in: i8, %in_0: f8E8M0FNU, %out: f32):
      %2 = arith.trunci %in : i8 to i4
      %3 = arith.bitcast %2 : i4 to f4E2M1FN
      %4 = arith.scaling_extf %3, %in_0 : f4E2M1FN, f8E8M0FNU to f32
      linalg.yield %4 : f32
    } -> tensor<4xf32>
    return %1 : tensor<4xf32>
  }
  func.func @f32_to_f4E2M1FN_scaled(%arg0: tensor<4xf32>, %arg1: tensor<4xf8E8M0FNU>) -> tensor<4xi8> {
    %0 = tensor.empty() : tensor<4xi8>
    %1 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel"]} ins(%arg0, %arg1 : tensor<4xf32>, tensor<4xf8E8M0FNU>) outs(%0 : tensor<4xi8>) {
    ^bb0(%in: f32, %in_0: f8E8M0FNU, %out: i8):
      %2 = arith.scaling_truncf %in, %in_0 : f32, f8E8M0FNU to f4E2M1FN
      %3 = arith.bitcast %2 : f4E2M1FN to i4
      %4 = arith.extui %3 : i4 to i8
      linalg.yield %4 : i8
    } -> tensor<4xi8>
    return %1 : tensor<4xi8>
  }
}

// Derived from IREE (tests/e2e/linalg/gather_like_ops.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

#map = affine_map<(d0, d1) -> (d1)>
#map1 = affine_map<(d0, d1) -> (d0, d1)>
module {
  func.func @gather_like_op(%arg0: tensor<2x4xi64>, %arg1: tensor<4xi64>) -> tensor<4x4xi64> {
    %0 = tensor.empty() : tensor<4x4xi64>
    %1 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "parallel"]} ins(%arg1 : tensor<4xi64>) outs(%0 : tensor<4x4xi64>) {
    ^bb0(%in: i64, %out: i64):
      %2 = linalg.index 1 : index
      %3 = arith.index_cast %in : i64 to index
      %extracted = tensor.extract %arg0[%3, %2] : tensor<2x4xi64>
      linalg.yield %extracted : i64
    } -> tensor<4x4xi64>
    return %1 : tensor<4x4xi64>
  }
}

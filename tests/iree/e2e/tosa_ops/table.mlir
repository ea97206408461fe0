// Derived from IREE (tests/e2e/tosa_ops/table.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

#map = affine_map<(d0) -> (d0)>
module {
  func.func @table() -> tensor<6xi32> {
    %cst = arith.constant dense<[-5405, 15214, -14896, 22008, 12529, -13501]> : tensor<6xi16>
    %0 = tensor.empty() : tensor<513xi16>
    %1 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel"]} outs(%0 : tensor<513xi16>) {
    ^bb0(%out: i16):
      %3 = linalg.index 0 : index
      %4 = arith.index_cast %3 : index to i16
      linalg.yield %4 : i16
    } -> tensor<513xi16>
    %2 = tosa.table %cst, %1 : (tensor<6xi16>, tensor<513xi16>) -> tensor<6xi32>
    return %2 : tensor<6xi32>
  }
}

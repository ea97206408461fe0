// Derived from IREE (tests/e2e/linalg/index.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

#map = affine_map<(d0, d1) -> (d0, d1)>
module {
  func.func @extract_slice_strided() -> (tensor<50x75xi32>, tensor<50x75xi32>) {
    %0 = tensor.empty() : tensor<500x750xi32>
    %1 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel"]} outs(%0 : tensor<500x750xi32>) {
    ^bb0(%out: i32):
      %4 = linalg.index 0 : index
      %5 = linalg.index 1 : index
      %6 = arith.index_cast %4 : index to i32
      %c750_i32 = arith.constant 750 : i32
      %7 = arith.muli %6, %c750_i32 : i32
      %8 = arith.index_cast %5 : index to i32
      %9 = arith.addi %7, %8 : i32
      linalg.yield %9 : i32
    } -> tensor<500x750xi32>
    %extracted_slice = tensor.extract_slice %1[20, 30] [50, 75] [2, 3] : tensor<500x750xi32> to tensor<50x75xi32>
    %2 = tensor.empty() : tensor<50x75xi32>
    %3 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel"]} outs(%2 : tensor<50x75xi32>) {
    ^bb0(%out: i32):
      %4 = linalg.index 0 : index
      %5 = linalg.index 1 : index
      %c20_i32 = arith.constant 20 : i32
      %c30_i32 = arith.constant 30 : i32
      %c2_i32 = arith.constant 2 : i32
      %c3_i32 = arith.constant 3 : i32
      %6 = arith.index_cast %5 : index to i32
      %7 = arith.muli %6, %c3_i32 : i32
      %8 = arith.addi %c30_i32, %7 : i32
      %9 = arith.index_cast %4 : index to i32
      %10 = arith.muli %9, %c2_i32 : i32
      %11 = arith.addi %c20_i32, %10 : i32
      %c750_i32 = arith.constant 750 : i32
      %12 = arith.muli %11, %c750_i32 : i32
      %13 = arith.addi %12, %8 : i32
      linalg.yield %13 : i32
    } -> tensor<50x75xi32>
    return %extracted_slice, %3 : tensor<50x75xi32>, tensor<50x75xi32>
  }
}

// Derived from IREE (tests/e2e/tensor_ops/tensor_insert_slice.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @tensor_insert_slice_small(%arg0: tensor<10x10xi32>, %arg1: tensor<5x5xi32>) -> tensor<10x10xi32> {
    %inserted_slice = tensor.insert_slice %arg1 into %arg0[4, 3] [5, 5] [1, 1] : tensor<5x5xi32> into tensor<10x10xi32>
    return %inserted_slice : tensor<10x10xi32>
  }
}

// Derived from IREE (tests/e2e/tensor_ops/extract_slice.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func public @extract_slice_i32_offset1_size2_stride1() {
    %cst = arith.constant dense<[1, 2, 3, 4]> : tensor<4xi32>
    %0 = util.optimization_barrier %cst : tensor<4xi32>
    %extracted_slice = tensor.extract_slice %0[1] [2] [1] : tensor<4xi32> to tensor<2xi32>
    check.expect_eq_const(%extracted_slice, dense<[2, 3]> : tensor<2xi32>) : tensor<2xi32>
    return
  }
  func.func public @extract_slice_i64_offset1_size2_stride1() {
    %cst = arith.constant dense<[1, 2, 3, 4]> : tensor<4xi64>
    %0 = util.optimization_barrier %cst : tensor<4xi64>
    %extracted_slice = tensor.extract_slice %0[1] [2] [1] : tensor<4xi64> to tensor<2xi64>
    check.expect_eq_const(%extracted_slice, dense<[2, 3]> : tensor<2xi64>) : tensor<2xi64>
    return
  }
  func.func public @extract_slice_i32_offset1_size2_stride2() {
    %cst = arith.constant dense<[1, 2, 3, 4]> : tensor<4xi32>
    %0 = util.optimization_barrier %cst : tensor<4xi32>
    %extracted_slice = tensor.extract_slice %0[1] [2] [2] : tensor<4xi32> to tensor<2xi32>
    check.expect_eq_const(%extracted_slice, dense<[2, 4]> : tensor<2xi32>) : tensor<2xi32>
    return
  }
}

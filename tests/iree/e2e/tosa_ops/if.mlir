// Derived from IREE (tests/e2e/tosa_ops/if.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @if_true_test(%arg0: tensor<i1>, %arg1: tensor<i32>, %arg2: i32, %arg3: tensor<i32>) -> tensor<i32> {
    %0 = tosa.cond_if %arg0 : tensor<i1> -> tensor<i32> {
      %1 = tosa.add %arg1, %arg3 : (tensor<i32>, tensor<i32>) -> tensor<i32>
      tosa.yield %1 : tensor<i32>
    } else {
      tosa.yield %arg1 : tensor<i32>
    }
    return %0 : tensor<i32>
  }
  func.func @if_false_test(%arg0: tensor<i1>, %arg1: tensor<i32>, %arg2: i32, %arg3: tensor<i32>) -> tensor<i32> {
    %0 = tosa.cond_if %arg0 : tensor<i1> -> tensor<i32> {
      tosa.yield %arg1 : tensor<i32>
    } else {
      %1 = tosa.add %arg1, %arg3 : (tensor<i32>, tensor<i32>) -> tensor<i32>
      tosa.yield %1 : tensor<i32>
    }
    return %0 : tensor<i32>
  }
}

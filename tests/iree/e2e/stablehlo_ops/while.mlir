// Derived from IREE (tests/e2e/stablehlo_ops/while.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @while(%arg0: tensor<i32>, %arg1: tensor<i32>) -> tensor<i32> {
    %cst = arith.constant dense<4> : tensor<i32>
    cf.br ^bb1(%arg0 : tensor<i32>)
  ^bb1(%0: tensor<i32>):  // 2 preds: ^bb0, ^bb2
    %1 = stablehlo.compare LT, %0, %arg1 : (tensor<i32>, tensor<i32>) -> tensor<i1>
    %extracted = tensor.extract %1[] : tensor<i1>
    cf.cond_br %extracted, ^bb2(%0 : tensor<i32>), ^bb3(%0 : tensor<i32>)
  ^bb2(%2: tensor<i32>):  // pred: ^bb1
    %3 = stablehlo.add %2, %2 : tensor<i32>
    cf.br ^bb1(%3 : tensor<i32>)
  ^bb3(%4: tensor<i32>):  // pred: ^bb1
    return %4 : tensor<i32>
  }
}

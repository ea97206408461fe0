// Derived from IREE (tests/e2e/linalg/softmax.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @softmax_static_10x256x256xf32(%arg0: tensor<10x256x256xf32>) -> tensor<10x256x256xf32> {
    %0 = tensor.empty() : tensor<10x256x256xf32>
    %1 = linalg.softmax dimension(2) ins(%arg0 : tensor<10x256x256xf32>) outs(%0 : tensor<10x256x256xf32>) -> tensor<10x256x256xf32>
    return %1 : tensor<10x256x256xf32>
  }
  func.func @softmax_dynamic_10x256x256xf32() -> tensor<10x256x256xf32> {
    %0 = flow.tensor.dynamic_constant dense<5.000000e+00> : tensor<10x256x256xf32> -> tensor<?x?x?xf32>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %0, %c0 : tensor<?x?x?xf32>
    %dim_0 = tensor.dim %0, %c1 : tensor<?x?x?xf32>
    %dim_1 = tensor.dim %0, %c2 : tensor<?x?x?xf32>
    %1 = tensor.empty(%dim, %dim_0, %dim_1) : tensor<?x?x?xf32>
    %2 = linalg.softmax dimension(2) ins(%0 : tensor<?x?x?xf32>) outs(%1 : tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
    %3 = util.optimization_barrier %2 : tensor<?x?x?xf32>
    %cast = tensor.cast %3 : tensor<?x?x?xf32> to tensor<10x256x256xf32>
    return %cast : tensor<10x256x256xf32>
  }
}

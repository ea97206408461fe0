// Derived from IREE (tests/e2e/linalg/large_linalg_matmul.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @matmul_2048x512x1024_f32_f32(%arg0: tensor<2048x1024xf32>, %arg1: tensor<1024x512xf32>) -> tensor<2048x512xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %0 = tensor.empty() : tensor<2048x512xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<2048x512xf32>) -> tensor<2048x512xf32>
    %2 = linalg.matmul ins(%arg0, %arg1 : tensor<2048x1024xf32>, tensor<1024x512xf32>) outs(%1 : tensor<2048x512xf32>) -> tensor<2048x512xf32>
    return %2 : tensor<2048x512xf32>
  }
  func.func @matmul_3456x1024x2048_f16_f16(%arg0: tensor<3456x2048xf16>, %arg1: tensor<2048x1024xf16>) -> tensor<3456x1024xf16> {
    %cst = arith.constant 0.000000e+00 : f16
    %0 = tensor.empty() : tensor<3456x1024xf16>
    %1 = linalg.fill ins(%cst : f16) outs(%0 : tensor<3456x1024xf16>) -> tensor<3456x1024xf16>
    %2 = linalg.matmul ins(%arg0, %arg1 : tensor<3456x2048xf16>, tensor<2048x1024xf16>) outs(%1 : tensor<3456x1024xf16>) -> tensor<3456x1024xf16>
    return %2 : tensor<3456x1024xf16>
  }
}

// Derived from IREE (tests/e2e/linalg/narrow_n_matmuls.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @matvec(%arg0: tensor<3x4xi8>, %arg1: tensor<4xi8>, %arg2: tensor<3xi32>) -> tensor<3xi32> {
    %0 = linalg.matvec ins(%arg0, %arg1 : tensor<3x4xi8>, tensor<4xi8>) outs(%arg2 : tensor<3xi32>) -> tensor<3xi32>
    return %0 : tensor<3xi32>
  }
  func.func @batch_matvec(%arg0: tensor<2x3x4xi8>, %arg1: tensor<2x4xi8>, %arg2: tensor<2x3xi32>) -> tensor<2x3xi32> {
    %0 = linalg.batch_matvec ins(%arg0, %arg1 : tensor<2x3x4xi8>, tensor<2x4xi8>) outs(%arg2 : tensor<2x3xi32>) -> tensor<2x3xi32>
    return %0 : tensor<2x3xi32>
  }
  func.func @matmul_narrow_n_1(%arg0: tensor<3x4xi8>, %arg1: tensor<4x1xi8>, %arg2: tensor<3x1xi32>) -> tensor<3x1xi32> {
    %0 = linalg.matmul ins(%arg0, %arg1 : tensor<3x4xi8>, tensor<4x1xi8>) outs(%arg2 : tensor<3x1xi32>) -> tensor<3x1xi32>
    return %0 : tensor<3x1xi32>
  }
  func.func @batch_matmul_narrow_n_1(%arg0: tensor<2x3x4xi8>, %arg1: tensor<2x4x1xi8>, %arg2: tensor<2x3x1xi32>) -> tensor<2x3x1xi32> {
    %0 = linalg.batch_matmul ins(%arg0, %arg1 : tensor<2x3x4xi8>, tensor<2x4x1xi8>) outs(%arg2 : tensor<2x3x1xi32>) -> tensor<2x3x1xi32>
    return %0 : tensor<2x3x1xi32>
  }
  func.func @matmul_narrow_n_2(%arg0: tensor<3x4xi8>, %arg1: tensor<4x2xi8>, %arg2: tensor<3x2xi32>) -> tensor<3x2xi32> {
    %0 = linalg.matmul ins(%arg0, %arg1 : tensor<3x4xi8>, tensor<4x2xi8>) outs(%arg2 : tensor<3x2xi32>) -> tensor<3x2xi32>
    return %0 : tensor<3x2xi32>
  }
  func.func @batch_matmul_narrow_n_2(%arg0: tensor<2x3x4xi8>, %arg1: tensor<2x4x2xi8>, %arg2: tensor<2x3x2xi32>) -> tensor<2x3x2xi32> {
    %0 = linalg.batch_matmul ins(%arg0, %arg1 : tensor<2x3x4xi8>, tensor<2x4x2xi8>) outs(%arg2 : tensor<2x3x2xi32>) -> tensor<2x3x2xi32>
    return %0 : tensor<2x3x2xi32>
  }
}

// Derived from IREE (tests/e2e/tosa_ops/max_pool.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @tensor_i8(%arg0: tensor<1x2x4x1xi8>) -> tensor<1x1x3x1xi8> {
    %0 = tosa.max_pool2d %arg0 kernel([2, 2]) stride([1, 1]) pad([0, 0, 0, 0]) : (tensor<1x2x4x1xi8>) -> tensor<1x1x3x1xi8>
    return %0 : tensor<1x1x3x1xi8>
  }
  func.func @tensor_i16(%arg0: tensor<1x2x4x1xi16>) -> tensor<1x1x3x1xi16> {
    %0 = tosa.max_pool2d %arg0 kernel([2, 2]) stride([1, 1]) pad([0, 0, 0, 0]) : (tensor<1x2x4x1xi16>) -> tensor<1x1x3x1xi16>
    return %0 : tensor<1x1x3x1xi16>
  }
  func.func @tensor_i32(%arg0: tensor<1x2x4x1xi32>) -> tensor<1x1x3x1xi32> {
    %0 = tosa.max_pool2d %arg0 kernel([2, 2]) stride([1, 1]) pad([0, 0, 0, 0]) : (tensor<1x2x4x1xi32>) -> tensor<1x1x3x1xi32>
    return %0 : tensor<1x1x3x1xi32>
  }
  func.func @tensor_f32(%arg0: tensor<1x2x4x1xf32>) -> tensor<1x1x3x1xf32> {
    %0 = tosa.max_pool2d %arg0 kernel([2, 2]) stride([1, 1]) pad([0, 0, 0, 0]) : (tensor<1x2x4x1xf32>) -> tensor<1x1x3x1xf32>
    return %0 : tensor<1x1x3x1xf32>
  }
}

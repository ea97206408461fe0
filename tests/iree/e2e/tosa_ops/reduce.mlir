// Derived from IREE (tests/e2e/tosa_ops/reduce.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @reduce_max_float(%arg0: tensor<3x2xf32>) -> tensor<1x2xf32> {
    %0 = tosa.reduce_max %arg0 axis(0) : (tensor<3x2xf32>) -> tensor<1x2xf32>
    return %0 : tensor<1x2xf32>
  }
  func.func @reduce_max_int(%arg0: tensor<3x2xi32>) -> tensor<1x2xi32> {
    %0 = tosa.reduce_max %arg0 axis(0) : (tensor<3x2xi32>) -> tensor<1x2xi32>
    return %0 : tensor<1x2xi32>
  }
  func.func @reduce_min_float(%arg0: tensor<3x2xf32>) -> tensor<1x2xf32> {
    %0 = tosa.reduce_min %arg0 axis(0) : (tensor<3x2xf32>) -> tensor<1x2xf32>
    return %0 : tensor<1x2xf32>
  }
  func.func @reduce_min_int(%arg0: tensor<3x2xi32>) -> tensor<1x2xi32> {
    %0 = tosa.reduce_min %arg0 axis(0) : (tensor<3x2xi32>) -> tensor<1x2xi32>
    return %0 : tensor<1x2xi32>
  }
  func.func @reduce_prod_float(%arg0: tensor<2x3xf32>) -> tensor<1x3xf32> {
    %0 = tosa.reduce_product %arg0 axis(0) : (tensor<2x3xf32>) -> tensor<1x3xf32>
    return %0 : tensor<1x3xf32>
  }
  func.func @reduce_sum_float(%arg0: tensor<2x3xf32>) -> tensor<1x3xf32> {
    %0 = tosa.reduce_sum %arg0 axis(0) : (tensor<2x3xf32>) -> tensor<1x3xf32>
    return %0 : tensor<1x3xf32>
  }
  func.func @reduce_sum_int(%arg0: tensor<2x3xi32>) -> tensor<1x3xi32> {
    %0 = tosa.reduce_sum %arg0 axis(0) : (tensor<2x3xi32>) -> tensor<1x3xi32>
    return %0 : tensor<1x3xi32>
  }
  func.func @reduce_sum_float_axis_1(%arg0: tensor<2x3xf32>) -> tensor<2x1xf32> {
    %0 = tosa.reduce_sum %arg0 axis(1) : (tensor<2x3xf32>) -> tensor<2x1xf32>
    return %0 : tensor<2x1xf32>
  }
}

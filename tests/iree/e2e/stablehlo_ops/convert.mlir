// Derived from IREE (tests/e2e/stablehlo_ops/convert.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @narrow_int_i32_i8(%arg0: tensor<3xi32>) -> tensor<3xi8> {
    %0 = stablehlo.convert %arg0 : (tensor<3xi32>) -> tensor<3xi8>
    return %0 : tensor<3xi8>
  }
  func.func @widen_int_i8_i32(%arg0: tensor<3xi8>) -> tensor<3xi32> {
    %0 = stablehlo.convert %arg0 : (tensor<3xi8>) -> tensor<3xi32>
    return %0 : tensor<3xi32>
  }
  func.func @narrow_int_i32_i16(%arg0: tensor<3xi32>) -> tensor<3xi16> {
    %0 = stablehlo.convert %arg0 : (tensor<3xi32>) -> tensor<3xi16>
    return %0 : tensor<3xi16>
  }
  func.func @widen_int_i16_i32(%arg0: tensor<3xi16>) -> tensor<3xi32> {
    %0 = stablehlo.convert %arg0 : (tensor<3xi16>) -> tensor<3xi32>
    return %0 : tensor<3xi32>
  }
  func.func @narrow_int_i64_i32(%arg0: tensor<3xi64>) -> tensor<3xi32> {
    %0 = stablehlo.convert %arg0 : (tensor<3xi64>) -> tensor<3xi32>
    return %0 : tensor<3xi32>
  }
  func.func @widen_int_i32_i64(%arg0: tensor<3xi32>) -> tensor<3xi64> {
    %0 = stablehlo.convert %arg0 : (tensor<3xi32>) -> tensor<3xi64>
    return %0 : tensor<3xi64>
  }
  func.func @int_to_float(%arg0: tensor<3xi32>) -> tensor<3xf32> {
    %0 = stablehlo.convert %arg0 : (tensor<3xi32>) -> tensor<3xf32>
    return %0 : tensor<3xf32>
  }
}

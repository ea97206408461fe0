// Derived from IREE (tests/e2e/stablehlo_ops/minimum.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @tensor_i32(%arg0: tensor<4xi32>, %arg1: tensor<4xi32>) -> tensor<4xi32> {
    %0 = stablehlo.minimum %arg0, %arg1 : tensor<4xi32>
    return %0 : tensor<4xi32>
  }
  func.func @tensor_odd_dim(%arg0: tensor<3xi32>, %arg1: tensor<3xi32>) -> tensor<3xi32> {
    %0 = stablehlo.minimum %arg0, %arg1 : tensor<3xi32>
    return %0 : tensor<3xi32>
  }
  func.func @scalar_i32(%arg0: tensor<i32>, %arg1: tensor<i32>) -> tensor<i32> {
    %0 = stablehlo.minimum %arg0, %arg1 : tensor<i32>
    return %0 : tensor<i32>
  }
  func.func @negative_i32(%arg0: tensor<i32>, %arg1: tensor<i32>) -> tensor<i32> {
    %0 = stablehlo.minimum %arg0, %arg1 : tensor<i32>
    return %0 : tensor<i32>
  }
  func.func @i8(%arg0: tensor<i8>, %arg1: tensor<i8>) -> tensor<i8> {
    %0 = stablehlo.minimum %arg0, %arg1 : tensor<i8>
    return %0 : tensor<i8>
  }
  func.func @i16(%arg0: tensor<i16>, %arg1: tensor<i16>) -> tensor<i16> {
    %0 = stablehlo.minimum %arg0, %arg1 : tensor<i16>
    return %0 : tensor<i16>
  }
  func.func @i64(%arg0: tensor<i64>, %arg1: tensor<i64>) -> tensor<i64> {
    %0 = stablehlo.minimum %arg0, %arg1 : tensor<i64>
    return %0 : tensor<i64>
  }
  func.func @tensor_f32(%arg0: tensor<4xf32>, %arg1: tensor<4xf32>) -> tensor<4xf32> {
    %0 = stablehlo.minimum %arg0, %arg1 : tensor<4xf32>
    return %0 : tensor<4xf32>
  }
  func.func @scalar_f32(%arg0: tensor<f32>, %arg1: tensor<f32>) -> tensor<f32> {
    %0 = stablehlo.minimum %arg0, %arg1 : tensor<f32>
    return %0 : tensor<f32>
  }
  func.func @double(%arg0: tensor<f64>, %arg1: tensor<f64>) -> tensor<f64> {
    %0 = stablehlo.minimum %arg0, %arg1 : tensor<f64>
    return %0 : tensor<f64>
  }
  func.func @negative_f32(%arg0: tensor<f32>, %arg1: tensor<f32>) -> tensor<f32> {
    %0 = stablehlo.minimum %arg0, %arg1 : tensor<f32>
    return %0 : tensor<f32>
  }
}

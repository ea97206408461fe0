// Derived from IREE (tests/e2e/stablehlo_ops/compare.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @compare_tensor(%arg0: tensor<4xi32>, %arg1: tensor<4xi32>, %arg2: tensor<4xi8>, %arg3: tensor<4xi8>) -> tensor<4xi8> {
    %0 = stablehlo.compare EQ, %arg0, %arg1 : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi1>
    %1 = stablehlo.select %0, %arg3, %arg2 : tensor<4xi1>, tensor<4xi8>
    return %1 : tensor<4xi8>
  }
  func.func @compare_scalar(%arg0: tensor<i32>, %arg1: tensor<i32>, %arg2: tensor<i8>, %arg3: tensor<i8>) -> tensor<i8> {
    %0 = stablehlo.compare EQ, %arg0, %arg1 : (tensor<i32>, tensor<i32>) -> tensor<i1>
    %1 = stablehlo.select %0, %arg3, %arg2 : tensor<i1>, tensor<i8>
    return %1 : tensor<i8>
  }
  func.func @compare_i8(%arg0: tensor<i8>, %arg1: tensor<i8>, %arg2: tensor<i8>, %arg3: tensor<i8>) -> tensor<i8> {
    %0 = stablehlo.compare EQ, %arg0, %arg1 : (tensor<i8>, tensor<i8>) -> tensor<i1>
    %1 = stablehlo.select %0, %arg3, %arg2 : tensor<i1>, tensor<i8>
    return %1 : tensor<i8>
  }
  func.func @compare_i16(%arg0: tensor<i16>, %arg1: tensor<i16>, %arg2: tensor<i8>, %arg3: tensor<i8>) -> tensor<i8> {
    %0 = stablehlo.compare EQ, %arg0, %arg1 : (tensor<i16>, tensor<i16>) -> tensor<i1>
    %1 = stablehlo.select %0, %arg3, %arg2 : tensor<i1>, tensor<i8>
    return %1 : tensor<i8>
  }
  func.func @compare_i32(%arg0: tensor<i32>, %arg1: tensor<i32>, %arg2: tensor<i8>, %arg3: tensor<i8>) -> tensor<i8> {
    %0 = stablehlo.compare EQ, %arg0, %arg1 : (tensor<i32>, tensor<i32>) -> tensor<i1>
    %1 = stablehlo.select %0, %arg3, %arg2 : tensor<i1>, tensor<i8>
    return %1 : tensor<i8>
  }
  func.func @compare_i64(%arg0: tensor<i64>, %arg1: tensor<i64>, %arg2: tensor<i8>, %arg3: tensor<i8>) -> tensor<i8> {
    %0 = stablehlo.compare EQ, %arg0, %arg1 : (tensor<i64>, tensor<i64>) -> tensor<i1>
    %1 = stablehlo.select %0, %arg3, %arg2 : tensor<i1>, tensor<i8>
    return %1 : tensor<i8>
  }
  func.func @compare_f32(%arg0: tensor<f32>, %arg1: tensor<f32>, %arg2: tensor<i8>, %arg3: tensor<i8>) -> tensor<i8> {
    %0 = stablehlo.compare EQ, %arg0, %arg1 : (tensor<f32>, tensor<f32>) -> tensor<i1>
    %1 = stablehlo.select %0, %arg3, %arg2 : tensor<i1>, tensor<i8>
    return %1 : tensor<i8>
  }
  func.func @compare_f64(%arg0: tensor<f64>, %arg1: tensor<f64>, %arg2: tensor<i8>, %arg3: tensor<i8>) -> tensor<i8> {
    %0 = stablehlo.compare EQ, %arg0, %arg1 : (tensor<f64>, tensor<f64>) -> tensor<i1>
    %1 = stablehlo.select %0, %arg3, %arg2 : tensor<i1>, tensor<i8>
    return %1 : tensor<i8>
  }
  func.func @compare_tensor_odd_length(%arg0: tensor<3xi32>, %arg1: tensor<3xi32>, %arg2: tensor<3xi8>, %arg3: tensor<3xi8>) -> tensor<3xi8> {
    %0 = stablehlo.compare EQ, %arg0, %arg1 : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi1>
    %1 = stablehlo.select %0, %arg3, %arg2 : tensor<3xi1>, tensor<3xi8>
    return %1 : tensor<3xi8>
  }
  func.func @compare_eq(%arg0: tensor<4xi32>, %arg1: tensor<4xi32>, %arg2: tensor<4xi8>, %arg3: tensor<4xi8>) -> tensor<4xi8> {
    %0 = stablehlo.compare EQ, %arg0, %arg1 : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi1>
    %1 = stablehlo.select %0, %arg3, %arg2 : tensor<4xi1>, tensor<4xi8>
    return %1 : tensor<4xi8>
  }
  func.func @compare_ne(%arg0: tensor<4xi32>, %arg1: tensor<4xi32>, %arg2: tensor<4xi8>, %arg3: tensor<4xi8>) -> tensor<4xi8> {
    %0 = stablehlo.compare NE, %arg0, %arg1 : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi1>
    %1 = stablehlo.select %0, %arg3, %arg2 : tensor<4xi1>, tensor<4xi8>
    return %1 : tensor<4xi8>
  }
  func.func @compare_lt(%arg0: tensor<4xi32>, %arg1: tensor<4xi32>, %arg2: tensor<4xi8>, %arg3: tensor<4xi8>) -> tensor<4xi8> {
    %0 = stablehlo.compare LT, %arg0, %arg1 : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi1>
    %1 = stablehlo.select %0, %arg3, %arg2 : tensor<4xi1>, tensor<4xi8>
    return %1 : tensor<4xi8>
  }
  func.func @compare_le(%arg0: tensor<4xi32>, %arg1: tensor<4xi32>, %arg2: tensor<4xi8>, %arg3: tensor<4xi8>) -> tensor<4xi8> {
    %0 = stablehlo.compare LE, %arg0, %arg1 : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi1>
    %1 = stablehlo.select %0, %arg3, %arg2 : tensor<4xi1>, tensor<4xi8>
    return %1 : tensor<4xi8>
  }
  func.func @compare_gt(%arg0: tensor<4xi32>, %arg1: tensor<4xi32>, %arg2: tensor<4xi8>, %arg3: tensor<4xi8>) -> tensor<4xi8> {
    %0 = stablehlo.compare GT, %arg0, %arg1 : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi1>
    %1 = stablehlo.select %0, %arg3, %arg2 : tensor<4xi1>, tensor<4xi8>
    return %1 : tensor<4xi8>
  }
  func.func @compare_ge(%arg0: tensor<4xi32>, %arg1: tensor<4xi32>, %arg2: tensor<4xi8>, %arg3: tensor<4xi8>) -> tensor<4xi8> {
    %0 = stablehlo.compare GE, %arg0, %arg1 : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi1>
    %1 = stablehlo.select %0, %arg3, %arg2 : tensor<4xi1>, tensor<4xi8>
    return %1 : tensor<4xi8>
  }
}

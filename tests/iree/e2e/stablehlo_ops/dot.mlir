// Derived from IREE (tests/e2e/stablehlo_ops/dot.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @f32(%arg0: tensor<5x3xf32>, %arg1: tensor<3x5xf32>) -> tensor<5x5xf32> {
    %0 = stablehlo.dot %arg0, %arg1 : (tensor<5x3xf32>, tensor<3x5xf32>) -> tensor<5x5xf32>
    return %0 : tensor<5x5xf32>
  }
  func.func @i32i32.i32(%arg0: tensor<2x4xi32>, %arg1: tensor<4x2xi32>) -> tensor<2x2xi32> {
    %0 = stablehlo.dot %arg0, %arg1 : (tensor<2x4xi32>, tensor<4x2xi32>) -> tensor<2x2xi32>
    return %0 : tensor<2x2xi32>
  }
  func.func @i8i8.i32(%arg0: tensor<2x4xi8>, %arg1: tensor<4x2xi8>) -> tensor<2x2xi32> {
    %0 = stablehlo.dot %arg0, %arg1 : (tensor<2x4xi8>, tensor<4x2xi8>) -> tensor<2x2xi32>
    return %0 : tensor<2x2xi32>
  }
  func.func @i16i16.i32(%arg0: tensor<2x4xi16>, %arg1: tensor<4x2xi16>) -> tensor<2x2xi32> {
    %0 = stablehlo.dot %arg0, %arg1 : (tensor<2x4xi16>, tensor<4x2xi16>) -> tensor<2x2xi32>
    return %0 : tensor<2x2xi32>
  }
  func.func @large(%arg0: tensor<15x16xf32>, %arg1: tensor<16x17xf32>) -> tensor<15x17xf32> {
    %0 = stablehlo.dot %arg0, %arg1 : (tensor<15x16xf32>, tensor<16x17xf32>) -> tensor<15x17xf32>
    return %0 : tensor<15x17xf32>
  }
  func.func @matvec(%arg0: tensor<15x32xf32>, %arg1: tensor<32xf32>) -> tensor<15xf32> {
    %0 = stablehlo.dot %arg0, %arg1 : (tensor<15x32xf32>, tensor<32xf32>) -> tensor<15xf32>
    return %0 : tensor<15xf32>
  }
  func.func @dot(%arg0: tensor<1024xf32>, %arg1: tensor<1024xf32>) -> tensor<f32> {
    %0 = stablehlo.dot %arg0, %arg1 : (tensor<1024xf32>, tensor<1024xf32>) -> tensor<f32>
    return %0 : tensor<f32>
  }
}

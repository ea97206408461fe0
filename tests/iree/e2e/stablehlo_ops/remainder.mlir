// Derived from IREE (tests/e2e/stablehlo_ops/remainder.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @scalar(%arg0: tensor<f32>, %arg1: tensor<f32>) -> tensor<f32> {
    %0 = stablehlo.remainder %arg0, %arg1 : tensor<f32>
    return %0 : tensor<f32>
  }
  func.func @tensor(%arg0: tensor<3xf32>, %arg1: tensor<3xf32>) -> tensor<3xf32> {
    %0 = stablehlo.remainder %arg0, %arg1 : tensor<3xf32>
    return %0 : tensor<3xf32>
  }
  func.func @negative_den(%arg0: tensor<f32>, %arg1: tensor<f32>) -> tensor<f32> {
    %0 = stablehlo.remainder %arg0, %arg1 : tensor<f32>
    return %0 : tensor<f32>
  }
  func.func @negative_num(%arg0: tensor<f32>, %arg1: tensor<f32>) -> tensor<f32> {
    %0 = stablehlo.remainder %arg0, %arg1 : tensor<f32>
    return %0 : tensor<f32>
  }
  func.func @scalar_int(%arg0: tensor<i32>, %arg1: tensor<i32>) -> tensor<i32> {
    %0 = stablehlo.remainder %arg0, %arg1 : tensor<i32>
    return %0 : tensor<i32>
  }
  func.func @tensor_int(%arg0: tensor<3xi32>, %arg1: tensor<3xi32>) -> tensor<3xi32> {
    %0 = stablehlo.remainder %arg0, %arg1 : tensor<3xi32>
    return %0 : tensor<3xi32>
  }
  func.func @negative_den_int(%arg0: tensor<i32>, %arg1: tensor<i32>) -> tensor<i32> {
    %0 = stablehlo.remainder %arg0, %arg1 : tensor<i32>
    return %0 : tensor<i32>
  }
  func.func @negative_num_int(%arg0: tensor<i32>, %arg1: tensor<i32>) -> tensor<i32> {
    %0 = stablehlo.remainder %arg0, %arg1 : tensor<i32>
    return %0 : tensor<i32>
  }
}

// Derived from IREE (tests/e2e/stablehlo_ops/dynamic_update_slice.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @dynamic_update_slice_2x2(%arg0: tensor<3x3xi32>, %arg1: tensor<2x2xi32>, %arg2: tensor<i32>) -> tensor<3x3xi32> {
    %0 = stablehlo.dynamic_update_slice %arg0, %arg1, %arg2, %arg2 : (tensor<3x3xi32>, tensor<2x2xi32>, tensor<i32>, tensor<i32>) -> tensor<3x3xi32>
    return %0 : tensor<3x3xi32>
  }
  func.func @dynamic_update_slice_1x3(%arg0: tensor<3x3xi32>, %arg1: tensor<1x3xi32>, %arg2: tensor<i32>, %arg3: tensor<i32>) -> tensor<3x3xi32> {
    %0 = stablehlo.dynamic_update_slice %arg0, %arg1, %arg3, %arg2 : (tensor<3x3xi32>, tensor<1x3xi32>, tensor<i32>, tensor<i32>) -> tensor<3x3xi32>
    return %0 : tensor<3x3xi32>
  }
  func.func @into_constant(%arg0: tensor<1xi32>) -> tensor<4xi32> {
    %c = stablehlo.constant dense<1> : tensor<4xi32>
    %c_0 = stablehlo.constant dense<0> : tensor<i32>
    %0 = stablehlo.dynamic_update_slice %c, %arg0, %c_0 : (tensor<4xi32>, tensor<1xi32>, tensor<i32>) -> tensor<4xi32>
    return %0 : tensor<4xi32>
  }
}

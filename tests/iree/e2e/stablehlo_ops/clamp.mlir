// Derived from IREE (tests/e2e/stablehlo_ops/clamp.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @i8(%arg0: tensor<4xi8>, %arg1: tensor<4xi8>, %arg2: tensor<4xi8>) -> tensor<4xi8> {
    %0 = stablehlo.clamp %arg0, %arg1, %arg2 : tensor<4xi8>
    return %0 : tensor<4xi8>
  }
  func.func @i16(%arg0: tensor<4xi16>, %arg1: tensor<4xi16>, %arg2: tensor<4xi16>) -> tensor<4xi16> {
    %0 = stablehlo.clamp %arg0, %arg1, %arg2 : tensor<4xi16>
    return %0 : tensor<4xi16>
  }
  func.func @i32(%arg0: tensor<4xi32>, %arg1: tensor<4xi32>, %arg2: tensor<4xi32>) -> tensor<4xi32> {
    %0 = stablehlo.clamp %arg0, %arg1, %arg2 : tensor<4xi32>
    return %0 : tensor<4xi32>
  }
  func.func @f32(%arg0: tensor<4xf32>, %arg1: tensor<4xf32>, %arg2: tensor<4xf32>) -> tensor<4xf32> {
    %0 = stablehlo.clamp %arg0, %arg1, %arg2 : tensor<4xf32>
    return %0 : tensor<4xf32>
  }
}

// Derived from IREE (tests/e2e/stablehlo_ops/rng_uniform.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @rng_uniform_1d(%arg0: tensor<f32>, %arg1: tensor<f32>, %arg2: tensor<1xi32>) -> tensor<10xf32> {
    %0 = stablehlo.rng %arg0, %arg1, %arg2, distribution = UNIFORM : (tensor<f32>, tensor<f32>, tensor<1xi32>) -> tensor<10xf32>
    return %0 : tensor<10xf32>
  }
  func.func @rng_uniform_2d(%arg0: tensor<f32>, %arg1: tensor<f32>, %arg2: tensor<2xi32>) -> tensor<3x3xf32> {
    %0 = stablehlo.rng %arg0, %arg1, %arg2, distribution = UNIFORM : (tensor<f32>, tensor<f32>, tensor<2xi32>) -> tensor<3x3xf32>
    return %0 : tensor<3x3xf32>
  }
  func.func @rng_uniform_3d(%arg0: tensor<f32>, %arg1: tensor<f32>, %arg2: tensor<3xi32>) -> tensor<2x2x2xf32> {
    %0 = stablehlo.rng %arg0, %arg1, %arg2, distribution = UNIFORM : (tensor<f32>, tensor<f32>, tensor<3xi32>) -> tensor<2x2x2xf32>
    return %0 : tensor<2x2x2xf32>
  }
}

// Derived from IREE (tests/e2e/stablehlo_ops/householder.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func public @householder_test() {
    %0 = util.unfoldable_constant dense<[[0.191519454, 0.622108757, 0.437727749], [0.785358607, 0.779975831, 0.272592604], [0.276464254, 0.801872193, 0.958139359], [0.875932633, 0.357817262, 0.500995159]]> : tensor<4x3xf32>
    %1 = util.unfoldable_constant dense<[0.683462917, 0.712702036]> : tensor<2xf32>
    %2 = stablehlo.custom_call @ProductOfElementaryHouseholderReflectors(%0, %1) : (tensor<4x3xf32>, tensor<2xf32>) -> tensor<4x3xf32>
    check.expect_almost_eq_const(%2, dense<[[0.316537082, 0.106445313, 0.326818168], [-0.536763489, 0.370895714, -0.314826518], [-0.188953072, -0.542067647, 0.632086873], [-0.598667502, -0.161778182, 0.0817795693]]> : tensor<4x3xf32>) : tensor<4x3xf32>
    return
  }
}

// Derived from IREE (tests/e2e/stablehlo_ops/slice.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @slice_whole_buffer(%arg0: tensor<3x4xi32>) -> tensor<3x4xi32> {
    %0 = stablehlo.slice %arg0 [0:3, 0:4] : (tensor<3x4xi32>) -> tensor<3x4xi32>
    return %0 : tensor<3x4xi32>
  }
  func.func @slice_whole_stride(%arg0: tensor<3x4xi32>) -> tensor<1x4xi32> {
    %0 = stablehlo.slice %arg0 [1:2, 0:4] : (tensor<3x4xi32>) -> tensor<1x4xi32>
    return %0 : tensor<1x4xi32>
  }
  func.func @slice_stride_part(%arg0: tensor<3x4xi32>) -> tensor<1x2xi32> {
    %0 = stablehlo.slice %arg0 [1:2, 1:3] : (tensor<3x4xi32>) -> tensor<1x2xi32>
    return %0 : tensor<1x2xi32>
  }
  func.func @slice_multi_stride(%arg0: tensor<3x4xi32>) -> tensor<2x4xi32> {
    %0 = stablehlo.slice %arg0 [1:3, 0:4] : (tensor<3x4xi32>) -> tensor<2x4xi32>
    return %0 : tensor<2x4xi32>
  }
}

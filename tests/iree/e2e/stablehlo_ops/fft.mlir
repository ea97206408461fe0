// Derived from IREE (tests/e2e/stablehlo_ops/fft.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @rfft_1d(%arg0: tensor<32xf32>) -> (tensor<17xf32>, tensor<17xf32>) {
    %0 = stablehlo.fft %arg0, type = RFFT, length = [32] : (tensor<32xf32>) -> tensor<17xcomplex<f32>>
    %1 = stablehlo.real %0 : (tensor<17xcomplex<f32>>) -> tensor<17xf32>
    %2 = stablehlo.imag %0 : (tensor<17xcomplex<f32>>) -> tensor<17xf32>
    return %1, %2 : tensor<17xf32>, tensor<17xf32>
  }
  func.func @rfft_2d(%arg0: tensor<1x32xf32>) -> (tensor<1x17xf32>, tensor<1x17xf32>) {
    %0 = stablehlo.fft %arg0, type = RFFT, length = [32] : (tensor<1x32xf32>) -> tensor<1x17xcomplex<f32>>
    %1 = stablehlo.real %0 : (tensor<1x17xcomplex<f32>>) -> tensor<1x17xf32>
    %2 = stablehlo.imag %0 : (tensor<1x17xcomplex<f32>>) -> tensor<1x17xf32>
    return %1, %2 : tensor<1x17xf32>, tensor<1x17xf32>
  }
}

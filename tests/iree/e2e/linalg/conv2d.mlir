// Derived from IREE (tests/e2e/linalg/conv2d.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @conv2d_nopadding(%arg0: tensor<1x2x4x4xf32>, %arg1: tensor<1x2x3x2xf32>) -> tensor<1x1x2x3xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %0 = tensor.empty() : tensor<1x1x2x3xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<1x1x2x3xf32>) -> tensor<1x1x2x3xf32>
    %2 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%arg0, %arg1 : tensor<1x2x4x4xf32>, tensor<1x2x3x2xf32>) outs(%1 : tensor<1x1x2x3xf32>) -> tensor<1x1x2x3xf32>
    return %2 : tensor<1x1x2x3xf32>
  }
}

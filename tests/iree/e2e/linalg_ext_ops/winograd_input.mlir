// Derived from IREE (tests/e2e/linalg_ext_ops/winograd_input.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @winograd_input(%arg0: tensor<1x6x6x1xf32>) -> tensor<8x8xf32> {
    %0 = tensor.empty() : tensor<8x8x1x1x1x1xf32>
    %1 = iree_linalg_ext.winograd.input_transform output_tile_size(6) kernel_size(3) image_dimensions([1, 2]) ins(%arg0 : tensor<1x6x6x1xf32>) outs(%0 : tensor<8x8x1x1x1x1xf32>) -> tensor<8x8x1x1x1x1xf32>
    %2 = flow.tensor.reshape %1 : tensor<8x8x1x1x1x1xf32> -> tensor<8x8xf32>
    return %2 : tensor<8x8xf32>
  }
  func.func @winograd_input_nchw(%arg0: tensor<1x1x6x6xf32>) -> tensor<8x8xf32> {
    %0 = tensor.empty() : tensor<8x8x1x1x1x1xf32>
    %1 = iree_linalg_ext.winograd.input_transform output_tile_size(6) kernel_size(3) image_dimensions([2, 3]) ins(%arg0 : tensor<1x1x6x6xf32>) outs(%0 : tensor<8x8x1x1x1x1xf32>) -> tensor<8x8x1x1x1x1xf32>
    %2 = flow.tensor.reshape %1 : tensor<8x8x1x1x1x1xf32> -> tensor<8x8xf32>
    return %2 : tensor<8x8xf32>
  }
}

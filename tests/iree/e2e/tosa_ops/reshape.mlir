// Derived from IREE (tests/e2e/tosa_ops/reshape.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @tensor_downrank(%arg0: tensor<2x2xi32>) -> tensor<4xi32> {
    %0 = tosa.const_shape  values(dense<4> : tensor<1xindex>) : () -> !tosa.shape<1>
    %1 = tosa.reshape %arg0, %0 : (tensor<2x2xi32>, !tosa.shape<1>) -> tensor<4xi32>
    return %1 : tensor<4xi32>
  }
  func.func @tensor_uprank(%arg0: tensor<4xi32>) -> tensor<2x2xi32> {
    %0 = tosa.const_shape  values(dense<2> : tensor<2xindex>) : () -> !tosa.shape<2>
    %1 = tosa.reshape %arg0, %0 : (tensor<4xi32>, !tosa.shape<2>) -> tensor<2x2xi32>
    return %1 : tensor<2x2xi32>
  }
  func.func @tensor_crossrank(%arg0: tensor<2x3xi32>) -> tensor<3x2xi32> {
    %0 = tosa.const_shape  values(dense<[3, 2]> : tensor<2xindex>) : () -> !tosa.shape<2>
    %1 = tosa.reshape %arg0, %0 : (tensor<2x3xi32>, !tosa.shape<2>) -> tensor<3x2xi32>
    return %1 : tensor<3x2xi32>
  }
}

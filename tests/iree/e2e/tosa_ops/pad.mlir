// Derived from IREE (tests/e2e/tosa_ops/pad.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @pad_1D_test(%arg0: tensor<2xi32>) -> tensor<7xi32> {
    %0 = tosa.const_shape  values(dense<[3, 2]> : tensor<2xindex>) : () -> !tosa.shape<2>
    %1 = tosa.const  values(dense<0> : tensor<1xi32>) : () -> tensor<1xi32>
    %2 = tosa.pad %arg0, %0, %1 : (tensor<2xi32>, !tosa.shape<2>, tensor<1xi32>) -> tensor<7xi32>
    return %2 : tensor<7xi32>
  }
  func.func @pad_2D_test(%arg0: tensor<2x2xi32>) -> tensor<4x4xi32> {
    %0 = tosa.const_shape  values(dense<1> : tensor<4xindex>) : () -> !tosa.shape<4>
    %1 = tosa.const  values(dense<0> : tensor<1xi32>) : () -> tensor<1xi32>
    %2 = tosa.pad %arg0, %0, %1 : (tensor<2x2xi32>, !tosa.shape<4>, tensor<1xi32>) -> tensor<4x4xi32>
    return %2 : tensor<4x4xi32>
  }
  func.func @pad_3D_test(%arg0: tensor<1x1x2xi32>) -> tensor<2x2x2xi32> {
    %0 = tosa.const_shape  values(dense<[0, 1, 1, 0, 0, 0]> : tensor<6xindex>) : () -> !tosa.shape<6>
    %1 = tosa.const  values(dense<0> : tensor<1xi32>) : () -> tensor<1xi32>
    %2 = tosa.pad %arg0, %0, %1 : (tensor<1x1x2xi32>, !tosa.shape<6>, tensor<1xi32>) -> tensor<2x2x2xi32>
    return %2 : tensor<2x2x2xi32>
  }
}

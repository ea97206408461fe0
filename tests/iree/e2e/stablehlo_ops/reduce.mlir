// Derived from IREE (tests/e2e/stablehlo_ops/reduce.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @reduce_sum_1x10xi32(%arg0: tensor<1x10xi32>, %arg1: tensor<i32>) -> tensor<1xi32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.add across dimensions = [1] : (tensor<1x10xi32>, tensor<i32>) -> tensor<1xi32>
    return %0 : tensor<1xi32>
  }
  func.func @reduce_max_1x10xi32(%arg0: tensor<1x10xi32>, %arg1: tensor<i32>) -> tensor<1xi32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.maximum across dimensions = [1] : (tensor<1x10xi32>, tensor<i32>) -> tensor<1xi32>
    return %0 : tensor<1xi32>
  }
  func.func @reduce_min_5x1x1xi32(%arg0: tensor<5x1x1xi32>, %arg1: tensor<i32>) -> tensor<5xi32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.minimum across dimensions = [1, 2] : (tensor<5x1x1xi32>, tensor<i32>) -> tensor<5xi32>
    return %0 : tensor<5xi32>
  }
  func.func @reduce_sum_2x3xi32_dim0(%arg0: tensor<2x3xi32>, %arg1: tensor<i32>) -> tensor<3xi32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.add across dimensions = [0] : (tensor<2x3xi32>, tensor<i32>) -> tensor<3xi32>
    return %0 : tensor<3xi32>
  }
  func.func @reduce_sum_2x3xi32_dim1(%arg0: tensor<2x3xi32>, %arg1: tensor<i32>) -> tensor<2xi32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.add across dimensions = [1] : (tensor<2x3xi32>, tensor<i32>) -> tensor<2xi32>
    return %0 : tensor<2xi32>
  }
  func.func @reduce_sum_4x2x3xi32_dim0(%arg0: tensor<4x2x3xi32>, %arg1: tensor<i32>) -> tensor<2x3xi32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.add across dimensions = [0] : (tensor<4x2x3xi32>, tensor<i32>) -> tensor<2x3xi32>
    return %0 : tensor<2x3xi32>
  }
  func.func @reduce_sum_4x2x3xi32_dim2(%arg0: tensor<4x2x3xi32>, %arg1: tensor<i32>) -> tensor<4x2xi32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.add across dimensions = [2] : (tensor<4x2x3xi32>, tensor<i32>) -> tensor<4x2xi32>
    return %0 : tensor<4x2xi32>
  }
  func.func @reduce_sum_4x2x3xi32_dims_0_1(%arg0: tensor<4x2x3xi32>, %arg1: tensor<i32>) -> tensor<3xi32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.add across dimensions = [0, 1] : (tensor<4x2x3xi32>, tensor<i32>) -> tensor<3xi32>
    return %0 : tensor<3xi32>
  }
  func.func @reduce_sum_4x2x3xi32_dims_0_1_2(%arg0: tensor<4x2x3xi32>, %arg1: tensor<i32>) -> tensor<i32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.add across dimensions = [0, 1, 2] : (tensor<4x2x3xi32>, tensor<i32>) -> tensor<i32>
    return %0 : tensor<i32>
  }
  func.func @reduce_sum_1x10xf32(%arg0: tensor<1x10xf32>, %arg1: tensor<f32>) -> tensor<1xf32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.add across dimensions = [1] : (tensor<1x10xf32>, tensor<f32>) -> tensor<1xf32>
    return %0 : tensor<1xf32>
  }
  func.func @reduce_max_1x10xf32(%arg0: tensor<1x10xf32>, %arg1: tensor<f32>) -> tensor<1xf32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.maximum across dimensions = [1] : (tensor<1x10xf32>, tensor<f32>) -> tensor<1xf32>
    return %0 : tensor<1xf32>
  }
  func.func @reduce_min_5x1x1xf32(%arg0: tensor<5x1x1xf32>, %arg1: tensor<f32>) -> tensor<5xf32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.minimum across dimensions = [1, 2] : (tensor<5x1x1xf32>, tensor<f32>) -> tensor<5xf32>
    return %0 : tensor<5xf32>
  }
  func.func @reduce_sum_2x3xf32_dim0(%arg0: tensor<2x3xf32>, %arg1: tensor<f32>) -> tensor<3xf32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.add across dimensions = [0] : (tensor<2x3xf32>, tensor<f32>) -> tensor<3xf32>
    return %0 : tensor<3xf32>
  }
  func.func @reduce_sum_2x3xf32_dim1(%arg0: tensor<2x3xf32>, %arg1: tensor<f32>) -> tensor<2xf32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.add across dimensions = [1] : (tensor<2x3xf32>, tensor<f32>) -> tensor<2xf32>
    return %0 : tensor<2xf32>
  }
  func.func @reduce_sum_4x2x3xf32_dim0(%arg0: tensor<4x2x3xf32>, %arg1: tensor<f32>) -> tensor<2x3xf32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.add across dimensions = [0] : (tensor<4x2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
    return %0 : tensor<2x3xf32>
  }
  func.func @reduce_sum_4x2x3xf32_dim1(%arg0: tensor<4x2x3xf32>, %arg1: tensor<f32>) -> tensor<4x3xf32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.add across dimensions = [1] : (tensor<4x2x3xf32>, tensor<f32>) -> tensor<4x3xf32>
    return %0 : tensor<4x3xf32>
  }
  func.func @reduce_sum_4x2x3xf32_dim2(%arg0: tensor<4x2x3xf32>, %arg1: tensor<f32>) -> tensor<4x2xf32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.add across dimensions = [2] : (tensor<4x2x3xf32>, tensor<f32>) -> tensor<4x2xf32>
    return %0 : tensor<4x2xf32>
  }
  func.func @reduce_sum_4x2x3xf32_dims_0_1(%arg0: tensor<4x2x3xf32>, %arg1: tensor<f32>) -> tensor<3xf32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.add across dimensions = [0, 1] : (tensor<4x2x3xf32>, tensor<f32>) -> tensor<3xf32>
    return %0 : tensor<3xf32>
  }
  func.func @reduce_sum_4x2x3xf32_dims_0_1_2(%arg0: tensor<4x2x3xf32>, %arg1: tensor<f32>) -> tensor<f32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.add across dimensions = [0, 1, 2] : (tensor<4x2x3xf32>, tensor<f32>) -> tensor<f32>
    return %0 : tensor<f32>
  }
  func.func @reducemulti_result(%arg0: tensor<9x2xi32>, %arg1: tensor<9x2xi32>) -> (tensor<2xi32>, tensor<2xi32>) {
    %c = stablehlo.constant dense<-2147483648> : tensor<i32>
    %c_0 = stablehlo.constant dense<0> : tensor<i32>
    %0:2 = stablehlo.reduce(%arg0 init: %c), (%arg1 init: %c_0) across dimensions = [0] : (tensor<9x2xi32>, tensor<9x2xi32>, tensor<i32>, tensor<i32>) -> (tensor<2xi32>, tensor<2xi32>)
     reducer(%arg2: tensor<i32>, %arg4: tensor<i32>) (%arg3: tensor<i32>, %arg5: tensor<i32>)  {
      %1 = stablehlo.compare GE, %arg2, %arg4 : (tensor<i32>, tensor<i32>) -> tensor<i1>
      %2 = stablehlo.select %1, %arg2, %arg4 : tensor<i1>, tensor<i32>
      %3 = stablehlo.compare EQ, %arg2, %arg4 : (tensor<i32>, tensor<i32>) -> tensor<i1>
      %4 = stablehlo.minimum %arg3, %arg5 : tensor<i32>
      %5 = stablehlo.select %1, %arg3, %arg5 : tensor<i1>, tensor<i32>
      %6 = stablehlo.select %3, %4, %5 : tensor<i1>, tensor<i32>
      stablehlo.return %2, %6 : tensor<i32>, tensor<i32>
    }
    return %0#0, %0#1 : tensor<2xi32>, tensor<2xi32>
  }
  func.func @reduce_dim_1(%arg0: tensor<2x5xi32>, %arg1: tensor<i32>) -> tensor<2xi32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.add across dimensions = [1] : (tensor<2x5xi32>, tensor<i32>) -> tensor<2xi32>
    return %0 : tensor<2xi32>
  }
  func.func @reduce_dim_1_const(%arg0: tensor<2x5xi32>) -> tensor<2xi32> {
    %cst = arith.constant dense<10> : tensor<i32>
    %0 = stablehlo.reduce(%arg0 init: %cst) applies stablehlo.add across dimensions = [1] : (tensor<2x5xi32>, tensor<i32>) -> tensor<2xi32>
    return %0 : tensor<2xi32>
  }
  func.func @reduce_dim_0(%arg0: tensor<1x10xi32>, %arg1: tensor<i32>) -> tensor<1xi32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.add across dimensions = [1] : (tensor<1x10xi32>, tensor<i32>) -> tensor<1xi32>
    return %0 : tensor<1xi32>
  }
  func.func @reduce_to_scalar(%arg0: tensor<10xi32>, %arg1: tensor<i32>) -> tensor<i32> {
    %0 = stablehlo.reduce(%arg0 init: %arg1) applies stablehlo.add across dimensions = [0] : (tensor<10xi32>, tensor<i32>) -> tensor<i32>
    return %0 : tensor<i32>
  }
}

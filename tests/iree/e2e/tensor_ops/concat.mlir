// Derived from IREE (tests/e2e/tensor_ops/concat.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @concat_i8_static_dim0() -> tensor<2xi8> {
    %cst = arith.constant dense<1> : tensor<1xi8>
    %cst_0 = arith.constant dense<2> : tensor<1xi8>
    %0 = util.optimization_barrier %cst : tensor<1xi8>
    %1 = util.optimization_barrier %cst_0 : tensor<1xi8>
    %concat = tensor.concat dim(0) %0, %1 : (tensor<1xi8>, tensor<1xi8>) -> tensor<2xi8>
    return %concat : tensor<2xi8>
  }
  func.func @concat_i16_static_dim0() -> tensor<2xi16> {
    %cst = arith.constant dense<1> : tensor<1xi16>
    %cst_0 = arith.constant dense<2> : tensor<1xi16>
    %0 = util.optimization_barrier %cst : tensor<1xi16>
    %1 = util.optimization_barrier %cst_0 : tensor<1xi16>
    %concat = tensor.concat dim(0) %0, %1 : (tensor<1xi16>, tensor<1xi16>) -> tensor<2xi16>
    return %concat : tensor<2xi16>
  }
  func.func @concat_i32_static_dim0() -> tensor<2xi32> {
    %cst = arith.constant dense<1> : tensor<1xi32>
    %cst_0 = arith.constant dense<2> : tensor<1xi32>
    %0 = util.optimization_barrier %cst : tensor<1xi32>
    %1 = util.optimization_barrier %cst_0 : tensor<1xi32>
    %concat = tensor.concat dim(0) %0, %1 : (tensor<1xi32>, tensor<1xi32>) -> tensor<2xi32>
    return %concat : tensor<2xi32>
  }
  func.func @concat_i64_static_dim0() -> tensor<2xi64> {
    %cst = arith.constant dense<1> : tensor<1xi64>
    %cst_0 = arith.constant dense<2> : tensor<1xi64>
    %0 = util.optimization_barrier %cst : tensor<1xi64>
    %1 = util.optimization_barrier %cst_0 : tensor<1xi64>
    %concat = tensor.concat dim(0) %0, %1 : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
    return %concat : tensor<2xi64>
  }
  func.func @concat_f32_static_dim0() -> tensor<2xf32> {
    %cst = arith.constant dense<1.000000e+00> : tensor<1xf32>
    %cst_0 = arith.constant dense<2.000000e+00> : tensor<1xf32>
    %0 = util.optimization_barrier %cst : tensor<1xf32>
    %1 = util.optimization_barrier %cst_0 : tensor<1xf32>
    %concat = tensor.concat dim(0) %0, %1 : (tensor<1xf32>, tensor<1xf32>) -> tensor<2xf32>
    return %concat : tensor<2xf32>
  }
  func.func @concat_i32_dim1() -> tensor<2x8xi32> {
    %cst = arith.constant dense<[[1, 2, 3], [-1, -2, -3]]> : tensor<2x3xi32>
    %cst_0 = arith.constant dense<[[4, 5, 6, 7, 8], [-4, -5, -6, -7, -8]]> : tensor<2x5xi32>
    %0 = util.optimization_barrier %cst : tensor<2x3xi32>
    %1 = util.optimization_barrier %cst_0 : tensor<2x5xi32>
    %concat = tensor.concat dim(1) %0, %1 : (tensor<2x3xi32>, tensor<2x5xi32>) -> tensor<2x8xi32>
    return %concat : tensor<2x8xi32>
  }
}

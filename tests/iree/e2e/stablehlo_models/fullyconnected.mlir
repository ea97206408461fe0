// Derived from IREE (tests/e2e/stablehlo_models/fullyconnected.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @main(%arg0: tensor<1x5xf32>, %arg1: tensor<1x5x3x1xf32>) -> tensor<5x1x5xf32> {
    %0 = stablehlo.transpose %arg0, dims = [1, 0] {name = "transpose.41"} : (tensor<1x5xf32>) -> tensor<5x1xf32>
    %1 = stablehlo.reshape %0 {name = "reshape.42"} : (tensor<5x1xf32>) -> tensor<5x1x1xf32>
    %2 = stablehlo.reshape %0 {name = "reshape.55"} : (tensor<5x1xf32>) -> tensor<5x1xf32>
    %3 = stablehlo.broadcast_in_dim %2, dims = [0, 1] {name = "broadcast.56"} : (tensor<5x1xf32>) -> tensor<5x1x5xf32>
    %cst = arith.constant {name = "constant.22"} dense<1.000000e+00> : tensor<f32>
    %cst_0 = stablehlo.constant dense<1.000000e+00> : tensor<5x1x5xf32>
    %4 = stablehlo.multiply %3, %cst_0 {name = "multiply.57"} : tensor<5x1x5xf32>
    %cst_1 = arith.constant {name = "constant.58"} dense<0.000000e+00> : tensor<f32>
    %cst_2 = stablehlo.constant dense<0.000000e+00> : tensor<5x1x5xf32>
    %5 = stablehlo.compare GT, %4, %cst_2 {name = "compare.60"} : (tensor<5x1x5xf32>, tensor<5x1x5xf32>) -> tensor<5x1x5xi1>
    %cst_3 = arith.constant {name = "constant.24"} dense<0.000000e+00> : tensor<f32>
    %cst_4 = stablehlo.constant dense<0.000000e+00> : tensor<5x1x5xf32>
    %cst_5 = arith.constant {name = "constant.90"} dense<0.000000e+00> : tensor<f32>
    %cst_6 = stablehlo.constant dense<0.000000e+00> : tensor<5x5xf32>
    %6 = stablehlo.reshape %0 {name = "reshape.49"} : (tensor<5x1xf32>) -> tensor<5x1xf32>
    %7 = stablehlo.broadcast_in_dim %6, dims = [0, 1] {name = "broadcast.50"} : (tensor<5x1xf32>) -> tensor<5x1x5xf32>
    %cst_7 = arith.constant {name = "constant.15"} dense<1.000000e+00> : tensor<f32>
    %cst_8 = stablehlo.constant dense<1.000000e+00> : tensor<5x1x5xf32>
    %8 = stablehlo.multiply %7, %cst_8 {name = "multiply.51"} : tensor<5x1x5xf32>
    %cst_9 = arith.constant {name = "constant.52"} dense<0.000000e+00> : tensor<f32>
    %cst_10 = stablehlo.constant dense<0.000000e+00> : tensor<5x1x5xf32>
    %9 = stablehlo.compare GT, %8, %cst_10 {name = "compare.54"} : (tensor<5x1x5xf32>, tensor<5x1x5xf32>) -> tensor<5x1x5xi1>
    %cst_11 = arith.constant {name = "constant.17"} dense<0.000000e+00> : tensor<f32>
    %cst_12 = stablehlo.constant dense<0.000000e+00> : tensor<5x1x5xf32>
    %cst_13 = arith.constant {name = "constant.78"} dense<0.000000e+00> : tensor<f32>
    %cst_14 = stablehlo.constant dense<0.000000e+00> : tensor<5x5xf32>
    %10 = stablehlo.reshape %0 {name = "reshape.43"} : (tensor<5x1xf32>) -> tensor<5x1xf32>
    %11 = stablehlo.broadcast_in_dim %10, dims = [0, 1] {name = "broadcast.44"} : (tensor<5x1xf32>) -> tensor<5x1x5xf32>
    %cst_15 = arith.constant {name = "constant.8"} dense<1.000000e+00> : tensor<f32>
    %cst_16 = stablehlo.constant dense<1.000000e+00> : tensor<5x1x5xf32>
    %12 = stablehlo.multiply %11, %cst_16 {name = "multiply.45"} : tensor<5x1x5xf32>
    %cst_17 = arith.constant {name = "constant.46"} dense<0.000000e+00> : tensor<f32>
    %cst_18 = stablehlo.constant dense<0.000000e+00> : tensor<5x1x5xf32>
    %13 = stablehlo.compare GT, %12, %cst_18 {name = "compare.48"} : (tensor<5x1x5xf32>, tensor<5x1x5xf32>) -> tensor<5x1x5xi1>
    %cst_19 = arith.constant {name = "constant.10"} dense<0.000000e+00> : tensor<f32>
    %cst_20 = stablehlo.constant dense<0.000000e+00> : tensor<5x1x5xf32>
    %cst_21 = arith.constant {name = "constant.66"} dense<0.000000e+00> : tensor<f32>
    %cst_22 = stablehlo.constant dense<0.000000e+00> : tensor<5x5xf32>
    %14 = stablehlo.reshape %arg1 {name = "reshape.38"} : (tensor<1x5x3x1xf32>) -> tensor<1x5x3xf32>
    %15 = stablehlo.transpose %14, dims = [1, 0, 2] {name = "transpose.39"} : (tensor<1x5x3xf32>) -> tensor<5x1x3xf32>
    %16 = stablehlo.reshape %15 {name = "reshape.40"} : (tensor<5x1x3xf32>) -> tensor<5x3xf32>
    %cst_23 = arith.constant {name = "constant.61"} dense<[[0.706495285, -0.567672312, 0.483717591, 0.522725761, 0.7563259], [-0.0899272263, -0.283501834, -0.350822538, -0.351515919, -0.337136656], [-0.451804549, 0.372324884, -0.620518147, 0.235451385, 0.851095855]]> : tensor<3x5xf32>
    %17 = stablehlo.dot %16, %cst_23, precision = [DEFAULT, DEFAULT] {name = "dot.62"} : (tensor<5x3xf32>, tensor<3x5xf32>) -> tensor<5x5xf32>
    %cst_24 = arith.constant {name = "constant.63"} dense<0.000000e+00> : tensor<5xf32>
    %cst_25 = stablehlo.constant dense<0.000000e+00> : tensor<5x5xf32>
    %18 = stablehlo.add %17, %cst_25 {name = "add.65"} : tensor<5x5xf32>
    %19 = stablehlo.maximum %cst_22, %18 {name = "maximum.68"} : tensor<5x5xf32>
    %20 = stablehlo.reshape %19 {name = "reshape.70"} : (tensor<5x5xf32>) -> tensor<5x1x5xf32>
    %21 = stablehlo.select %13, %cst_20, %20 {name = "select.71"} : tensor<5x1x5xi1>, tensor<5x1x5xf32>
    %22 = stablehlo.reshape %21 {name = "reshape.72"} : (tensor<5x1x5xf32>) -> tensor<5x5xf32>
    %cst_26 = arith.constant {name = "constant.73"} dense<[[-0.0118641369, -3.785000e-02, 0.489048243, 0.321015775, -0.702280283], [-0.280262798, -0.724645615, -0.00332254497, 0.392334729, 0.619746447], [-0.113318317, -0.180415511, -0.146743968, 0.250408649, -0.442881733], [0.115600757, 0.703136146, -0.00812680274, -0.225454301, -0.0835619792], [-0.136745885, -6.298570e-01, 0.43629986, -0.689790308, 0.230725273]]> : tensor<5x5xf32>
    %23 = stablehlo.dot %22, %cst_26, precision = [DEFAULT, DEFAULT] {name = "dot.74"} : (tensor<5x5xf32>, tensor<5x5xf32>) -> tensor<5x5xf32>
    %cst_27 = arith.constant {name = "constant.75"} dense<0.000000e+00> : tensor<5xf32>
    %cst_28 = stablehlo.constant dense<0.000000e+00> : tensor<5x5xf32>
    %24 = stablehlo.add %23, %cst_28 {name = "add.77"} : tensor<5x5xf32>
    %25 = stablehlo.maximum %cst_14, %24 {name = "maximum.80"} : tensor<5x5xf32>
    %26 = stablehlo.reshape %25 {name = "reshape.82"} : (tensor<5x5xf32>) -> tensor<5x1x5xf32>
    %27 = stablehlo.select %9, %cst_12, %26 {name = "select.83"} : tensor<5x1x5xi1>, tensor<5x1x5xf32>
    %28 = stablehlo.reshape %27 {name = "reshape.84"} : (tensor<5x1x5xf32>) -> tensor<5x5xf32>
    %cst_29 = arith.constant {name = "constant.85"} dense<[[-0.136191264, -0.0401721969, 0.38497138, -5.850760e-01, 0.370910525], [-0.391011149, 0.0266356133, 0.309115469, -0.205079094, -0.559861302], [0.497760415, 0.689488232, 0.0759292394, -0.33134672, -0.237128958], [-0.53243047, 0.476418108, -0.371978909, 0.283265263, 0.63842845], [0.101761498, -0.218626946, 0.475128263, 0.042601984, 0.0988005772]]> : tensor<5x5xf32>
    %29 = stablehlo.dot %28, %cst_29, precision = [DEFAULT, DEFAULT] {name = "dot.86"} : (tensor<5x5xf32>, tensor<5x5xf32>) -> tensor<5x5xf32>
    %cst_30 = arith.constant {name = "constant.87"} dense<0.000000e+00> : tensor<5xf32>
    %cst_31 = stablehlo.constant dense<0.000000e+00> : tensor<5x5xf32>
    %30 = stablehlo.add %29, %cst_31 {name = "add.89"} : tensor<5x5xf32>
    %31 = stablehlo.maximum %cst_6, %30 {name = "maximum.92"} : tensor<5x5xf32>
    %32 = stablehlo.reshape %31 {name = "reshape.94"} : (tensor<5x5xf32>) -> tensor<5x1x5xf32>
    %33 = stablehlo.select %5, %cst_4, %32 {name = "select.95"} : tensor<5x1x5xi1>, tensor<5x1x5xf32>
    return %33 : tensor<5x1x5xf32>
  }
}

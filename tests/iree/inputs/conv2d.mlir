// Copyright 2019 The IREE Authors
//
// Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// From iree-org/iree (commit b48a595557): @conv2d_nopadding from tests/e2e/linalg/conv2d.mlir,
// @conv2d_2451x2311_same and @conv2d_1452x2223_dilated_valid from
// tests/e2e/stablehlo_ops/convolution.mlir.  Changed for polyhal's regression tests: the
// util.unfoldable_constant inputs are arguments and the checked value is the result (the
// values and the expected results are in test_iree_regressions.py).

func.func @conv2d_nopadding(%inputs: tensor<1x2x4x4xf32>, %weights: tensor<1x2x3x2xf32>)
    -> tensor<1x1x2x3xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %fill = tensor.empty() : tensor<1x1x2x3xf32>
  %out = linalg.fill ins(%cst : f32) outs(%fill : tensor<1x1x2x3xf32>) -> tensor<1x1x2x3xf32>
  %result = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>} ins(%inputs, %weights : tensor<1x2x4x4xf32>, tensor<1x2x3x2xf32>) outs(%out : tensor<1x1x2x3xf32>) -> tensor<1x1x2x3xf32>
  return %result : tensor<1x1x2x3xf32>
}

func.func @conv2d_2451x2311_same(%inputs: tensor<2x4x5x1xf32>, %weights: tensor<2x3x1x1xf32>)
    -> tensor<2x4x5x1xf32> {
  %res = "stablehlo.convolution"(%inputs, %weights) {
       batch_group_count = 1 : i64,
       dimension_numbers = #stablehlo.conv<raw
          input_batch_dimension = 0,
          input_feature_dimension = 3,
          input_spatial_dimensions = [1, 2],
          kernel_input_feature_dimension = 2,
          kernel_output_feature_dimension = 3,
          kernel_spatial_dimensions = [0, 1],
          output_batch_dimension = 0,
          output_feature_dimension = 3,
          output_spatial_dimensions = [1, 2]
        >,
       feature_group_count = 1 : i64,
       padding = dense<[[0, 1], [1, 1]]> : tensor<2x2xi64>,
       rhs_dilation = array<i64: 1, 1>,
       window_strides = array<i64: 1, 1>} :
       (tensor<2x4x5x1xf32>, tensor<2x3x1x1xf32>) -> tensor<2x4x5x1xf32>
  return %res : tensor<2x4x5x1xf32>
}

func.func @conv2d_1452x2223_dilated_valid(%inputs: tensor<1x4x5x2xf32>,
    %weights: tensor<2x2x2x3xf32>) -> tensor<1x2x4x3xf32> {
  %res = "stablehlo.convolution"(%inputs, %weights) {
    batch_group_count = 1 : i64,
    dimension_numbers = #stablehlo.conv<raw
          input_batch_dimension = 0,
          input_feature_dimension = 3,
          input_spatial_dimensions = [1, 2],
          kernel_input_feature_dimension = 2,
          kernel_output_feature_dimension = 3,
          kernel_spatial_dimensions = [0, 1],
          output_batch_dimension = 0,
          output_feature_dimension = 3,
          output_spatial_dimensions = [1, 2]
        >,
    feature_group_count = 1 : i64,
    padding = dense<0> : tensor<2x2xi64>,
    rhs_dilation = array<i64: 2, 1>,
    window_strides = array<i64: 1, 1>
  } : (tensor<1x4x5x2xf32>, tensor<2x2x2x3xf32>) -> tensor<1x2x4x3xf32>
  return %res : tensor<1x2x4x3xf32>
}

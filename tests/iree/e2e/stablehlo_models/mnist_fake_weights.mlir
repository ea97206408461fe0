// Derived from IREE (tests/e2e/stablehlo_models/mnist_fake_weights.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  util.global private @"__iree_flow___sm_node17__model.layer-1.kernel" <inlining_policy = #util.inline.never> = #util.byte_pattern<1> : tensor<784x128xf32>
  util.global private @"__iree_flow___sm_node18__model.layer-1.bias" <inlining_policy = #util.inline.never> = #util.byte_pattern<2> : tensor<128xf32>
  util.global private @"__iree_flow___sm_node24__model.layer-2.kernel" <inlining_policy = #util.inline.never> = #util.byte_pattern<3> : tensor<128x10xf32>
  util.global private @"__iree_flow___sm_node25__model.layer-2.bias" <inlining_policy = #util.inline.never> = #util.byte_pattern<4> : tensor<10xf32>
  func.func @predict(%arg0: tensor<1x28x28x1xf32>) -> tensor<1x10xf32> attributes {iree.module.export, iree.reflection = {abi = "sip", abiv = 1 : i32, sip = "I8!S5!k0_0R3!_0"}} {
    %ptr___iree_flow___sm_node17__model.layer-1.kernel = util.global.address @"__iree_flow___sm_node17__model.layer-1.kernel" : !util.ptr<tensor<784x128xf32>>
    %ptr___iree_flow___sm_node18__model.layer-1.bias = util.global.address @"__iree_flow___sm_node18__model.layer-1.bias" : !util.ptr<tensor<128xf32>>
    %ptr___iree_flow___sm_node24__model.layer-2.kernel = util.global.address @"__iree_flow___sm_node24__model.layer-2.kernel" : !util.ptr<tensor<128x10xf32>>
    %ptr___iree_flow___sm_node25__model.layer-2.bias = util.global.address @"__iree_flow___sm_node25__model.layer-2.bias" : !util.ptr<tensor<10xf32>>
    %cst = stablehlo.constant dense<0.000000e+00> : tensor<1x128xf32>
    %cst_0 = stablehlo.constant dense<0xFF800000> : tensor<f32>
    %cst_1 = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %0 = util.global.load.indirect %ptr___iree_flow___sm_node25__model.layer-2.bias : !util.ptr<tensor<10xf32>> -> tensor<10xf32>
    %1 = util.global.load.indirect %ptr___iree_flow___sm_node24__model.layer-2.kernel : !util.ptr<tensor<128x10xf32>> -> tensor<128x10xf32>
    %2 = util.global.load.indirect %ptr___iree_flow___sm_node18__model.layer-1.bias : !util.ptr<tensor<128xf32>> -> tensor<128xf32>
    %3 = util.global.load.indirect %ptr___iree_flow___sm_node17__model.layer-1.kernel : !util.ptr<tensor<784x128xf32>> -> tensor<784x128xf32>
    %4 = stablehlo.reshape %arg0 : (tensor<1x28x28x1xf32>) -> tensor<1x784xf32>
    %5 = stablehlo.dot %4, %3 : (tensor<1x784xf32>, tensor<784x128xf32>) -> tensor<1x128xf32>
    %6 = stablehlo.broadcast_in_dim %2, dims = [1] : (tensor<128xf32>) -> tensor<1x128xf32>
    %7 = stablehlo.add %5, %6 : tensor<1x128xf32>
    %8 = stablehlo.maximum %7, %cst : tensor<1x128xf32>
    %9 = stablehlo.dot %8, %1 : (tensor<1x128xf32>, tensor<128x10xf32>) -> tensor<1x10xf32>
    %10 = stablehlo.broadcast_in_dim %0, dims = [1] : (tensor<10xf32>) -> tensor<1x10xf32>
    %11 = stablehlo.add %9, %10 : tensor<1x10xf32>
    %12 = stablehlo.reduce(%11 init: %cst_0) applies stablehlo.maximum across dimensions = [1] : (tensor<1x10xf32>, tensor<f32>) -> tensor<1xf32>
    %13 = stablehlo.broadcast_in_dim %12, dims = [0] : (tensor<1xf32>) -> tensor<1x10xf32>
    %14 = stablehlo.subtract %11, %13 : tensor<1x10xf32>
    %15 = stablehlo.exponential %14 : tensor<1x10xf32>
    %16 = stablehlo.reduce(%15 init: %cst_1) applies stablehlo.add across dimensions = [1] : (tensor<1x10xf32>, tensor<f32>) -> tensor<1xf32>
    %17 = stablehlo.broadcast_in_dim %16, dims = [0] : (tensor<1xf32>) -> tensor<1x10xf32>
    %18 = stablehlo.divide %15, %17 : tensor<1x10xf32>
    return %18 : tensor<1x10xf32>
  }
}

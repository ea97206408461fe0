// Derived from IREE (tests/e2e/stablehlo_models/collatz.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @collatz(%arg0: tensor<f32>) -> tensor<f32> {
    %cst = stablehlo.constant dense<1.000000e+00> : tensor<f32>
    %cst_0 = stablehlo.constant dense<3.000000e+00> : tensor<f32>
    %cst_1 = stablehlo.constant dense<2.000000e+00> : tensor<f32>
    %cst_2 = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    cf.br ^bb1(%cst_2, %arg0 : tensor<f32>, tensor<f32>)
  ^bb1(%0: tensor<f32>, %1: tensor<f32>):  // 2 preds: ^bb0, ^bb5
    %2 = stablehlo.compare GT, %1, %cst : (tensor<f32>, tensor<f32>) -> tensor<i1>
    %extracted = tensor.extract %2[] : tensor<i1>
    cf.cond_br %extracted, ^bb2(%0, %1 : tensor<f32>, tensor<f32>), ^bb6(%0 : tensor<f32>)
  ^bb2(%3: tensor<f32>, %4: tensor<f32>):  // pred: ^bb1
    %5 = stablehlo.add %3, %cst : tensor<f32>
    %6 = stablehlo.remainder %4, %cst_1 : tensor<f32>
    %7 = stablehlo.compare NE, %6, %cst_2 : (tensor<f32>, tensor<f32>) -> tensor<i1>
    %c = stablehlo.constant dense<false> : tensor<i1>
    %8 = stablehlo.compare LT, %6, %cst_2 : (tensor<f32>, tensor<f32>) -> tensor<i1>
    %9 = stablehlo.compare NE, %c, %8 : (tensor<i1>, tensor<i1>) -> tensor<i1>
    %10 = stablehlo.and %7, %9 : tensor<i1>
    %11 = stablehlo.add %6, %cst_1 : tensor<f32>
    %12 = stablehlo.select %10, %11, %6 : tensor<i1>, tensor<f32>
    %13 = stablehlo.compare GT, %12, %cst_2 : (tensor<f32>, tensor<f32>) -> tensor<i1>
    %extracted_3 = tensor.extract %13[] : tensor<i1>
    cf.cond_br %extracted_3, ^bb3, ^bb4
  ^bb3:  // pred: ^bb2
    %14 = stablehlo.multiply %4, %cst_0 : tensor<f32>
    %15 = stablehlo.add %14, %cst : tensor<f32>
    cf.br ^bb5(%15 : tensor<f32>)
  ^bb4:  // pred: ^bb2
    %16 = stablehlo.divide %4, %cst_1 : tensor<f32>
    cf.br ^bb5(%16 : tensor<f32>)
  ^bb5(%17: tensor<f32>):  // 2 preds: ^bb3, ^bb4
    cf.br ^bb1(%5, %17 : tensor<f32>, tensor<f32>)
  ^bb6(%18: tensor<f32>):  // pred: ^bb1
    return %18 : tensor<f32>
  }
}

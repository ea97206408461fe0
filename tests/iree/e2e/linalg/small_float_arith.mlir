// Derived from IREE (tests/e2e/linalg/small_float_arith.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @add_f8E5M2FNUZ(%arg0: tensor<4xf8E5M2FNUZ>) -> tensor<4xf8E5M2FNUZ> {
    %0 = tensor.empty() : tensor<4xf8E5M2FNUZ>
    %1 = linalg.elementwise <add> ins(%arg0, %arg0 : tensor<4xf8E5M2FNUZ>, tensor<4xf8E5M2FNUZ>) outs(%0 : tensor<4xf8E5M2FNUZ>) -> tensor<4xf8E5M2FNUZ>
    return %1 : tensor<4xf8E5M2FNUZ>
  }
  func.func @sub_f8E5M2FNUZ(%arg0: tensor<4xf8E5M2FNUZ>, %arg1: tensor<4xf8E5M2FNUZ>) -> tensor<4xf8E5M2FNUZ> {
    %0 = tensor.empty() : tensor<4xf8E5M2FNUZ>
    %1 = linalg.elementwise <sub> ins(%arg0, %arg1 : tensor<4xf8E5M2FNUZ>, tensor<4xf8E5M2FNUZ>) outs(%0 : tensor<4xf8E5M2FNUZ>) -> tensor<4xf8E5M2FNUZ>
    return %1 : tensor<4xf8E5M2FNUZ>
  }
  func.func @mul_f8E5M2FNUZ(%arg0: tensor<4xf8E5M2FNUZ>, %arg1: tensor<4xf8E5M2FNUZ>) -> tensor<4xf8E5M2FNUZ> {
    %0 = tensor.empty() : tensor<4xf8E5M2FNUZ>
    %1 = linalg.elementwise <mul> ins(%arg0, %arg1 : tensor<4xf8E5M2FNUZ>, tensor<4xf8E5M2FNUZ>) outs(%0 : tensor<4xf8E5M2FNUZ>) -> tensor<4xf8E5M2FNUZ>
    return %1 : tensor<4xf8E5M2FNUZ>
  }
  func.func @negf_f8E5M2FNUZ(%arg0: tensor<4xf8E5M2FNUZ>) -> tensor<4xf8E5M2FNUZ> {
    %0 = tensor.empty() : tensor<4xf8E5M2FNUZ>
    %1 = linalg.elementwise <negf> ins(%arg0 : tensor<4xf8E5M2FNUZ>) outs(%0 : tensor<4xf8E5M2FNUZ>) -> tensor<4xf8E5M2FNUZ>
    return %1 : tensor<4xf8E5M2FNUZ>
  }
  func.func @add_f8E4M3FNUZ(%arg0: tensor<4xf8E4M3FNUZ>) -> tensor<4xf8E4M3FNUZ> {
    %0 = tensor.empty() : tensor<4xf8E4M3FNUZ>
    %1 = linalg.elementwise <add> ins(%arg0, %arg0 : tensor<4xf8E4M3FNUZ>, tensor<4xf8E4M3FNUZ>) outs(%0 : tensor<4xf8E4M3FNUZ>) -> tensor<4xf8E4M3FNUZ>
    return %1 : tensor<4xf8E4M3FNUZ>
  }
  func.func @mul_f8E4M3FNUZ(%arg0: tensor<4xf8E4M3FNUZ>, %arg1: tensor<4xf8E4M3FNUZ>) -> tensor<4xf8E4M3FNUZ> {
    %0 = tensor.empty() : tensor<4xf8E4M3FNUZ>
    %1 = linalg.elementwise <mul> ins(%arg0, %arg1 : tensor<4xf8E4M3FNUZ>, tensor<4xf8E4M3FNUZ>) outs(%0 : tensor<4xf8E4M3FNUZ>) -> tensor<4xf8E4M3FNUZ>
    return %1 : tensor<4xf8E4M3FNUZ>
  }
  func.func @add_f8E5M2(%arg0: tensor<4xf8E5M2>) -> tensor<4xf8E5M2> {
    %0 = tensor.empty() : tensor<4xf8E5M2>
    %1 = linalg.elementwise <add> ins(%arg0, %arg0 : tensor<4xf8E5M2>, tensor<4xf8E5M2>) outs(%0 : tensor<4xf8E5M2>) -> tensor<4xf8E5M2>
    return %1 : tensor<4xf8E5M2>
  }
  func.func @add_f8E4M3FN(%arg0: tensor<4xf8E4M3FN>) -> tensor<4xf8E4M3FN> {
    %0 = tensor.empty() : tensor<4xf8E4M3FN>
    %1 = linalg.elementwise <add> ins(%arg0, %arg0 : tensor<4xf8E4M3FN>, tensor<4xf8E4M3FN>) outs(%0 : tensor<4xf8E4M3FN>) -> tensor<4xf8E4M3FN>
    return %1 : tensor<4xf8E4M3FN>
  }
  func.func @special_f8E5M2FNUZ(%arg0: tensor<8xf8E5M2FNUZ>, %arg1: tensor<8xf8E5M2FNUZ>) -> tensor<8xf8E5M2FNUZ> {
    %0 = tensor.empty() : tensor<8xf8E5M2FNUZ>
    %1 = linalg.elementwise <add> ins(%arg0, %arg1 : tensor<8xf8E5M2FNUZ>, tensor<8xf8E5M2FNUZ>) outs(%0 : tensor<8xf8E5M2FNUZ>) -> tensor<8xf8E5M2FNUZ>
    return %1 : tensor<8xf8E5M2FNUZ>
  }
  func.func @special_f8E4M3FNUZ(%arg0: tensor<8xf8E4M3FNUZ>, %arg1: tensor<8xf8E4M3FNUZ>) -> tensor<8xf8E4M3FNUZ> {
    %0 = tensor.empty() : tensor<8xf8E4M3FNUZ>
    %1 = linalg.elementwise <add> ins(%arg0, %arg1 : tensor<8xf8E4M3FNUZ>, tensor<8xf8E4M3FNUZ>) outs(%0 : tensor<8xf8E4M3FNUZ>) -> tensor<8xf8E4M3FNUZ>
    return %1 : tensor<8xf8E4M3FNUZ>
  }
  func.func @special_f8E5M2(%arg0: tensor<8xf8E5M2>, %arg1: tensor<8xf8E5M2>) -> tensor<8xf8E5M2> {
    %0 = tensor.empty() : tensor<8xf8E5M2>
    %1 = linalg.elementwise <add> ins(%arg0, %arg1 : tensor<8xf8E5M2>, tensor<8xf8E5M2>) outs(%0 : tensor<8xf8E5M2>) -> tensor<8xf8E5M2>
    return %1 : tensor<8xf8E5M2>
  }
  func.func @special_f8E4M3FN(%arg0: tensor<8xf8E4M3FN>, %arg1: tensor<8xf8E4M3FN>) -> tensor<8xf8E4M3FN> {
    %0 = tensor.empty() : tensor<8xf8E4M3FN>
    %1 = linalg.elementwise <add> ins(%arg0, %arg1 : tensor<8xf8E4M3FN>, tensor<8xf8E4M3FN>) outs(%0 : tensor<8xf8E4M3FN>) -> tensor<8xf8E4M3FN>
    return %1 : tensor<8xf8E4M3FN>
  }
  func.func @negzero_negf_f8E5M2(%arg0: tensor<4xf8E5M2>) -> tensor<4xi8> {
    %0 = tensor.empty() : tensor<4xf8E5M2>
    %1 = linalg.elementwise <negf> ins(%arg0 : tensor<4xf8E5M2>) outs(%0 : tensor<4xf8E5M2>) -> tensor<4xf8E5M2>
    %2 = arith.bitcast %1 : tensor<4xf8E5M2> to tensor<4xi8>
    return %2 : tensor<4xi8>
  }
  func.func @negzero_negf_f8E4M3FN(%arg0: tensor<4xf8E4M3FN>) -> tensor<4xi8> {
    %0 = tensor.empty() : tensor<4xf8E4M3FN>
    %1 = linalg.elementwise <negf> ins(%arg0 : tensor<4xf8E4M3FN>) outs(%0 : tensor<4xf8E4M3FN>) -> tensor<4xf8E4M3FN>
    %2 = arith.bitcast %1 : tensor<4xf8E4M3FN> to tensor<4xi8>
    return %2 : tensor<4xi8>
  }
  func.func @negzero_mul_f8E5M2(%arg0: tensor<4xf8E5M2>, %arg1: tensor<4xf8E5M2>) -> tensor<4xi8> {
    %0 = tensor.empty() : tensor<4xf8E5M2>
    %1 = linalg.elementwise <mul> ins(%arg0, %arg1 : tensor<4xf8E5M2>, tensor<4xf8E5M2>) outs(%0 : tensor<4xf8E5M2>) -> tensor<4xf8E5M2>
    %2 = arith.bitcast %1 : tensor<4xf8E5M2> to tensor<4xi8>
    return %2 : tensor<4xi8>
  }
  func.func @negzero_mul_f8E4M3FN(%arg0: tensor<4xf8E4M3FN>, %arg1: tensor<4xf8E4M3FN>) -> tensor<4xi8> {
    %0 = tensor.empty() : tensor<4xf8E4M3FN>
    %1 = linalg.elementwise <mul> ins(%arg0, %arg1 : tensor<4xf8E4M3FN>, tensor<4xf8E4M3FN>) outs(%0 : tensor<4xf8E4M3FN>) -> tensor<4xf8E4M3FN>
    %2 = arith.bitcast %1 : tensor<4xf8E4M3FN> to tensor<4xi8>
    return %2 : tensor<4xi8>
  }
  func.func @round_to_nearest_even_f8E5M2FNUZ(%arg0: tensor<2xf32>) -> tensor<2xi8> {
    %0 = arith.truncf %arg0 : tensor<2xf32> to tensor<2xf8E5M2FNUZ>
    %1 = arith.bitcast %0 : tensor<2xf8E5M2FNUZ> to tensor<2xi8>
    return %1 : tensor<2xi8>
  }
  func.func @extf_denormal_f8E5M2FNUZ(%arg0: tensor<2xf8E5M2FNUZ>) -> tensor<2xf32> {
    %0 = arith.extf %arg0 : tensor<2xf8E5M2FNUZ> to tensor<2xf32>
    return %0 : tensor<2xf32>
  }
  func.func @truncf_denormal_f8E5M2FNUZ(%arg0: tensor<2xf32>) -> tensor<2xi8> {
    %0 = arith.truncf %arg0 : tensor<2xf32> to tensor<2xf8E5M2FNUZ>
    %1 = arith.bitcast %0 : tensor<2xf8E5M2FNUZ> to tensor<2xi8>
    return %1 : tensor<2xi8>
  }
  func.func @round_to_nearest_even_denormal_f8E4M3FN(%arg0: tensor<6xf32>) -> tensor<6xi8> {
    %0 = arith.truncf %arg0 : tensor<6xf32> to tensor<6xf8E4M3FN>
    %1 = arith.bitcast %0 : tensor<6xf8E4M3FN> to tensor<6xi8>
    return %1 : tensor<6xi8>
  }
  func.func @add_f4E2M1FN(%arg0: tensor<4xi8>) -> tensor<4xi8> {
    %0 = flow.tensor.bitcast %arg0 : tensor<4xi8> -> tensor<8xf4E2M1FN>
    %1 = tensor.empty() : tensor<8xf4E2M1FN>
    %2 = linalg.elementwise <add> ins(%0, %0 : tensor<8xf4E2M1FN>, tensor<8xf4E2M1FN>) outs(%1 : tensor<8xf4E2M1FN>) -> tensor<8xf4E2M1FN>
    %3 = flow.tensor.bitcast %2 : tensor<8xf4E2M1FN> -> tensor<4xi8>
    return %3 : tensor<4xi8>
  }
  func.func @denormal_f4E2M1FN(%arg0: tensor<2xi8>, %arg1: tensor<4xf32>) -> (tensor<4xf32>, tensor<2xi8>) {
    %0 = flow.tensor.bitcast %arg0 : tensor<2xi8> -> tensor<4xf4E2M1FN>
    %1 = arith.extf %0 : tensor<4xf4E2M1FN> to tensor<4xf32>
    %2 = arith.truncf %arg1 : tensor<4xf32> to tensor<4xf4E2M1FN>
    %3 = flow.tensor.bitcast %2 : tensor<4xf4E2M1FN> -> tensor<2xi8>
    return %1, %3 : tensor<4xf32>, tensor<2xi8>
  }
}

// Derived from IREE (tests/e2e/linalg_ext_ops/top-k.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func @topk_1d_dim0_max(%arg0: tensor<10xf32>, %arg1: tensor<10xi32>) -> (tensor<3xf32>, tensor<3xi32>) {
    %0 = tensor.empty() : tensor<3xf32>
    %1 = tensor.empty() : tensor<3xi32>
    %cst = arith.constant 0xFF800000 : f32
    %c0_i32 = arith.constant 0 : i32
    %2 = linalg.fill ins(%cst : f32) outs(%0 : tensor<3xf32>) -> tensor<3xf32>
    %3 = linalg.fill ins(%c0_i32 : i32) outs(%1 : tensor<3xi32>) -> tensor<3xi32>
    %4:2 = iree_linalg_ext.topk dimension(0) ins(%arg0, %arg1 : tensor<10xf32>, tensor<10xi32>) outs(%2, %3 : tensor<3xf32>, tensor<3xi32>) {
    ^bb0(%arg2: f32, %arg3: f32):
      %5 = arith.cmpf ogt, %arg2, %arg3 : f32
      iree_linalg_ext.yield %5 : i1
    } -> tensor<3xf32>, tensor<3xi32>
    return %4#0, %4#1 : tensor<3xf32>, tensor<3xi32>
  }
  func.func @topk_1d_dim0_max_optional(%arg0: tensor<10xf32>) -> (tensor<3xf32>, tensor<3xi32>) {
    %0 = tensor.empty() : tensor<3xf32>
    %1 = tensor.empty() : tensor<3xi32>
    %cst = arith.constant 0xFF800000 : f32
    %c0_i32 = arith.constant 0 : i32
    %2 = linalg.fill ins(%cst : f32) outs(%0 : tensor<3xf32>) -> tensor<3xf32>
    %3 = linalg.fill ins(%c0_i32 : i32) outs(%1 : tensor<3xi32>) -> tensor<3xi32>
    %4:2 = iree_linalg_ext.topk dimension(0) ins(%arg0 : tensor<10xf32>) outs(%2, %3 : tensor<3xf32>, tensor<3xi32>) {
    ^bb0(%arg1: f32, %arg2: f32):
      %5 = arith.cmpf ogt, %arg1, %arg2 : f32
      iree_linalg_ext.yield %5 : i1
    } -> tensor<3xf32>, tensor<3xi32>
    return %4#0, %4#1 : tensor<3xf32>, tensor<3xi32>
  }
  func.func @topk_1d_dim0_min(%arg0: tensor<10xf32>, %arg1: tensor<10xi32>) -> (tensor<3xf32>, tensor<3xi32>) {
    %0 = tensor.empty() : tensor<3xf32>
    %1 = tensor.empty() : tensor<3xi32>
    %cst = arith.constant 0x7F800000 : f32
    %c0_i32 = arith.constant 0 : i32
    %2 = linalg.fill ins(%cst : f32) outs(%0 : tensor<3xf32>) -> tensor<3xf32>
    %3 = linalg.fill ins(%c0_i32 : i32) outs(%1 : tensor<3xi32>) -> tensor<3xi32>
    %4:2 = iree_linalg_ext.topk dimension(0) ins(%arg0, %arg1 : tensor<10xf32>, tensor<10xi32>) outs(%2, %3 : tensor<3xf32>, tensor<3xi32>) {
    ^bb0(%arg2: f32, %arg3: f32):
      %5 = arith.cmpf olt, %arg2, %arg3 : f32
      iree_linalg_ext.yield %5 : i1
    } -> tensor<3xf32>, tensor<3xi32>
    return %4#0, %4#1 : tensor<3xf32>, tensor<3xi32>
  }
  func.func @topk_2d_dim1_max(%arg0: tensor<2x6xf32>, %arg1: tensor<2x6xi32>) -> (tensor<2x3xf32>, tensor<2x3xi32>) {
    %0 = tensor.empty() : tensor<2x3xf32>
    %1 = tensor.empty() : tensor<2x3xi32>
    %cst = arith.constant 0xFF800000 : f32
    %c0_i32 = arith.constant 0 : i32
    %2 = linalg.fill ins(%cst : f32) outs(%0 : tensor<2x3xf32>) -> tensor<2x3xf32>
    %3 = linalg.fill ins(%c0_i32 : i32) outs(%1 : tensor<2x3xi32>) -> tensor<2x3xi32>
    %4:2 = iree_linalg_ext.topk dimension(1) ins(%arg0, %arg1 : tensor<2x6xf32>, tensor<2x6xi32>) outs(%2, %3 : tensor<2x3xf32>, tensor<2x3xi32>) {
    ^bb0(%arg2: f32, %arg3: f32):
      %5 = arith.cmpf ogt, %arg2, %arg3 : f32
      iree_linalg_ext.yield %5 : i1
    } -> tensor<2x3xf32>, tensor<2x3xi32>
    return %4#0, %4#1 : tensor<2x3xf32>, tensor<2x3xi32>
  }
  func.func @topk_2d_dim1_inverted_max(%arg0: tensor<2x6xf32>, %arg1: tensor<2x6xi32>) -> (tensor<2x3xf32>, tensor<2x3xi32>) {
    %0 = tensor.empty() : tensor<2x3xf32>
    %1 = tensor.empty() : tensor<2x3xi32>
    %cst = arith.constant 0xFF800000 : f32
    %c0_i32 = arith.constant 0 : i32
    %2 = linalg.fill ins(%cst : f32) outs(%0 : tensor<2x3xf32>) -> tensor<2x3xf32>
    %3 = linalg.fill ins(%c0_i32 : i32) outs(%1 : tensor<2x3xi32>) -> tensor<2x3xi32>
    %4:2 = iree_linalg_ext.topk dimension(1) ins(%arg0, %arg1 : tensor<2x6xf32>, tensor<2x6xi32>) outs(%2, %3 : tensor<2x3xf32>, tensor<2x3xi32>) {
    ^bb0(%arg2: f32, %arg3: f32):
      %5 = arith.cmpf ogt, %arg2, %arg3 : f32
      iree_linalg_ext.yield %5 : i1
    } -> tensor<2x3xf32>, tensor<2x3xi32>
    return %4#0, %4#1 : tensor<2x3xf32>, tensor<2x3xi32>
  }
  func.func @topk_1d_repeat_max(%arg0: tensor<10xf32>, %arg1: tensor<10xi32>) -> (tensor<5xf32>, tensor<5xi32>) {
    %0 = tensor.empty() : tensor<5xf32>
    %1 = tensor.empty() : tensor<5xi32>
    %cst = arith.constant 0xFF800000 : f32
    %c0_i32 = arith.constant 0 : i32
    %2 = linalg.fill ins(%cst : f32) outs(%0 : tensor<5xf32>) -> tensor<5xf32>
    %3 = linalg.fill ins(%c0_i32 : i32) outs(%1 : tensor<5xi32>) -> tensor<5xi32>
    %4:2 = iree_linalg_ext.topk dimension(0) ins(%arg0, %arg1 : tensor<10xf32>, tensor<10xi32>) outs(%2, %3 : tensor<5xf32>, tensor<5xi32>) {
    ^bb0(%arg2: f32, %arg3: f32):
      %5 = arith.cmpf ogt, %arg2, %arg3 : f32
      iree_linalg_ext.yield %5 : i1
    } -> tensor<5xf32>, tensor<5xi32>
    return %4#0, %4#1 : tensor<5xf32>, tensor<5xi32>
  }
  func.func @topk_1d_dim0_max_double(%arg0: tensor<18xf32>, %arg1: tensor<18xi32>) -> (tensor<3xf32>, tensor<3xi32>) {
    %0 = tensor.empty() : tensor<3xf32>
    %1 = tensor.empty() : tensor<3xi32>
    %cst = arith.constant 0xFF800000 : f32
    %c0_i32 = arith.constant 0 : i32
    %2 = linalg.fill ins(%cst : f32) outs(%0 : tensor<3xf32>) -> tensor<3xf32>
    %3 = linalg.fill ins(%c0_i32 : i32) outs(%1 : tensor<3xi32>) -> tensor<3xi32>
    %4:2 = iree_linalg_ext.topk dimension(0) ins(%arg0, %arg1 : tensor<18xf32>, tensor<18xi32>) outs(%2, %3 : tensor<3xf32>, tensor<3xi32>) {
    ^bb0(%arg2: f32, %arg3: f32):
      %5 = arith.cmpf ogt, %arg2, %arg3 : f32
      iree_linalg_ext.yield %5 : i1
    } -> tensor<3xf32>, tensor<3xi32>
    return %4#0, %4#1 : tensor<3xf32>, tensor<3xi32>
  }
}

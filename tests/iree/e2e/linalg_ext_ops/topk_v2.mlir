// Derived from IREE (tests/e2e/linalg_ext_ops/topk_v2.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
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
    %4:2 = iree_linalg_ext.topk_v2 dimension(0) is_sorted ins(%arg0, %arg1 : tensor<10xf32>, tensor<10xi32>) outs(%2, %3 : tensor<3xf32>, tensor<3xi32>) {
    ^bb0(%arg2: f32, %arg3: f32):
      %5 = arith.cmpf ogt, %arg2, %arg3 : f32
      iree_linalg_ext.yield %5 : i1
    } -> tensor<3xf32>, tensor<3xi32>
    return %4#0, %4#1 : tensor<3xf32>, tensor<3xi32>
  }
  func.func @topk_1d_dim0_max_no_input_indices(%arg0: tensor<10xf32>) -> (tensor<3xf32>, tensor<3xi32>) {
    %0 = tensor.empty() : tensor<3xf32>
    %1 = tensor.empty() : tensor<3xi32>
    %cst = arith.constant 0xFF800000 : f32
    %c0_i32 = arith.constant 0 : i32
    %2 = linalg.fill ins(%cst : f32) outs(%0 : tensor<3xf32>) -> tensor<3xf32>
    %3 = linalg.fill ins(%c0_i32 : i32) outs(%1 : tensor<3xi32>) -> tensor<3xi32>
    %4:2 = iree_linalg_ext.topk_v2 dimension(0) is_sorted ins(%arg0 : tensor<10xf32>) outs(%2, %3 : tensor<3xf32>, tensor<3xi32>) {
    ^bb0(%arg1: f32, %arg2: f32):
      %5 = arith.cmpf ogt, %arg1, %arg2 : f32
      iree_linalg_ext.yield %5 : i1
    } -> tensor<3xf32>, tensor<3xi32>
    return %4#0, %4#1 : tensor<3xf32>, tensor<3xi32>
  }
  func.func @topk_1d_dim0_min(%arg0: tensor<10xf32>) -> (tensor<3xf32>, tensor<3xi32>) {
    %0 = tensor.empty() : tensor<3xf32>
    %1 = tensor.empty() : tensor<3xi32>
    %cst = arith.constant 0x7F800000 : f32
    %c0_i32 = arith.constant 0 : i32
    %2 = linalg.fill ins(%cst : f32) outs(%0 : tensor<3xf32>) -> tensor<3xf32>
    %3 = linalg.fill ins(%c0_i32 : i32) outs(%1 : tensor<3xi32>) -> tensor<3xi32>
    %4:2 = iree_linalg_ext.topk_v2 dimension(0) is_sorted ins(%arg0 : tensor<10xf32>) outs(%2, %3 : tensor<3xf32>, tensor<3xi32>) {
    ^bb0(%arg1: f32, %arg2: f32):
      %5 = arith.cmpf olt, %arg1, %arg2 : f32
      iree_linalg_ext.yield %5 : i1
    } -> tensor<3xf32>, tensor<3xi32>
    return %4#0, %4#1 : tensor<3xf32>, tensor<3xi32>
  }
  func.func @topk_2d_dim1_max(%arg0: tensor<2x6xf32>) -> (tensor<2x3xf32>, tensor<2x3xi32>) {
    %0 = tensor.empty() : tensor<2x3xf32>
    %1 = tensor.empty() : tensor<2x3xi32>
    %cst = arith.constant 0xFF800000 : f32
    %c0_i32 = arith.constant 0 : i32
    %2 = linalg.fill ins(%cst : f32) outs(%0 : tensor<2x3xf32>) -> tensor<2x3xf32>
    %3 = linalg.fill ins(%c0_i32 : i32) outs(%1 : tensor<2x3xi32>) -> tensor<2x3xi32>
    %4:2 = iree_linalg_ext.topk_v2 dimension(1) is_sorted ins(%arg0 : tensor<2x6xf32>) outs(%2, %3 : tensor<2x3xf32>, tensor<2x3xi32>) {
    ^bb0(%arg1: f32, %arg2: f32):
      %5 = arith.cmpf ogt, %arg1, %arg2 : f32
      iree_linalg_ext.yield %5 : i1
    } -> tensor<2x3xf32>, tensor<2x3xi32>
    return %4#0, %4#1 : tensor<2x3xf32>, tensor<2x3xi32>
  }
  func.func @topk_1d_repeat_max(%arg0: tensor<10xf32>) -> (tensor<5xf32>, tensor<5xi32>) {
    %0 = tensor.empty() : tensor<5xf32>
    %1 = tensor.empty() : tensor<5xi32>
    %cst = arith.constant 0xFF800000 : f32
    %c0_i32 = arith.constant 0 : i32
    %2 = linalg.fill ins(%cst : f32) outs(%0 : tensor<5xf32>) -> tensor<5xf32>
    %3 = linalg.fill ins(%c0_i32 : i32) outs(%1 : tensor<5xi32>) -> tensor<5xi32>
    %4:2 = iree_linalg_ext.topk_v2 dimension(0) is_sorted ins(%arg0 : tensor<10xf32>) outs(%2, %3 : tensor<5xf32>, tensor<5xi32>) {
    ^bb0(%arg1: f32, %arg2: f32):
      %5 = arith.cmpf ogt, %arg1, %arg2 : f32
      iree_linalg_ext.yield %5 : i1
    } -> tensor<5xf32>, tensor<5xi32>
    return %4#0, %4#1 : tensor<5xf32>, tensor<5xi32>
  }
  func.func @topk_1d_dim0_max_double(%arg0: tensor<18xf32>) -> (tensor<3xf32>, tensor<3xi32>) {
    %0 = tensor.empty() : tensor<3xf32>
    %1 = tensor.empty() : tensor<3xi32>
    %cst = arith.constant 0xFF800000 : f32
    %c0_i32 = arith.constant 0 : i32
    %2 = linalg.fill ins(%cst : f32) outs(%0 : tensor<3xf32>) -> tensor<3xf32>
    %3 = linalg.fill ins(%c0_i32 : i32) outs(%1 : tensor<3xi32>) -> tensor<3xi32>
    %4:2 = iree_linalg_ext.topk_v2 dimension(0) is_sorted ins(%arg0 : tensor<18xf32>) outs(%2, %3 : tensor<3xf32>, tensor<3xi32>) {
    ^bb0(%arg1: f32, %arg2: f32):
      %5 = arith.cmpf ogt, %arg1, %arg2 : f32
      iree_linalg_ext.yield %5 : i1
    } -> tensor<3xf32>, tensor<3xi32>
    return %4#0, %4#1 : tensor<3xf32>, tensor<3xi32>
  }
  func.func @unsorted(%arg0: tensor<10xf32>) -> (tensor<3xf32>, tensor<3xi32>) {
    %0 = tensor.empty() : tensor<3xf32>
    %1 = tensor.empty() : tensor<3xi32>
    %cst = arith.constant 0xFF800000 : f32
    %c0_i32 = arith.constant 0 : i32
    %2 = linalg.fill ins(%cst : f32) outs(%0 : tensor<3xf32>) -> tensor<3xf32>
    %3 = linalg.fill ins(%c0_i32 : i32) outs(%1 : tensor<3xi32>) -> tensor<3xi32>
    %4:2 = iree_linalg_ext.topk_v2 dimension(0) ins(%arg0 : tensor<10xf32>) outs(%2, %3 : tensor<3xf32>, tensor<3xi32>) {
    ^bb0(%arg1: f32, %arg2: f32):
      %6 = arith.cmpf ogt, %arg1, %arg2 : f32
      iree_linalg_ext.yield %6 : i1
    } -> tensor<3xf32>, tensor<3xi32>
    %5:2 = iree_linalg_ext.sort dimension(0) outs(%4#0, %4#1 : tensor<3xf32>, tensor<3xi32>) {
    ^bb0(%arg1: f32, %arg2: f32, %arg3: i32, %arg4: i32):
      %6 = arith.cmpf ogt, %arg1, %arg2 : f32
      iree_linalg_ext.yield %6 : i1
    } -> tensor<3xf32>, tensor<3xi32>
    return %5#0, %5#1 : tensor<3xf32>, tensor<3xi32>
  }
  func.func @values_only(%arg0: tensor<10xf32>) -> tensor<3xf32> {
    %0 = tensor.empty() : tensor<3xf32>
    %cst = arith.constant 0xFF800000 : f32
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<3xf32>) -> tensor<3xf32>
    %2 = iree_linalg_ext.topk_v2 dimension(0) is_sorted ins(%arg0 : tensor<10xf32>) outs(%1 : tensor<3xf32>) {
    ^bb0(%arg1: f32, %arg2: f32):
      %3 = arith.cmpf ogt, %arg1, %arg2 : f32
      iree_linalg_ext.yield %3 : i1
    } -> tensor<3xf32>
    return %2 : tensor<3xf32>
  }
  func.func @topk_1d_dynamic_max() -> (tensor<3xf32>, tensor<3xi32>) {
    %0 = flow.tensor.dynamic_constant dense<[4.000000e+00, 5.000000e+00, 8.000000e+00, 1.000000e+00, 2.000000e+00, 1.000000e+01, 7.000000e+00, 3.000000e+00, 9.000000e+00, 6.000000e+00]> : tensor<10xf32> -> tensor<?xf32>
    %1 = tensor.empty() : tensor<3xf32>
    %2 = tensor.empty() : tensor<3xi32>
    %cst = arith.constant 0xFF800000 : f32
    %c0_i32 = arith.constant 0 : i32
    %3 = linalg.fill ins(%cst : f32) outs(%1 : tensor<3xf32>) -> tensor<3xf32>
    %4 = linalg.fill ins(%c0_i32 : i32) outs(%2 : tensor<3xi32>) -> tensor<3xi32>
    %5:2 = iree_linalg_ext.topk_v2 dimension(0) is_sorted ins(%0 : tensor<?xf32>) outs(%3, %4 : tensor<3xf32>, tensor<3xi32>) {
    ^bb0(%arg0: f32, %arg1: f32):
      %6 = arith.cmpf ogt, %arg0, %arg1 : f32
      iree_linalg_ext.yield %6 : i1
    } -> tensor<3xf32>, tensor<3xi32>
    return %5#0, %5#1 : tensor<3xf32>, tensor<3xi32>
  }
  func.func @topk_2d_dynamic_dim1_max() -> (tensor<2x3xf32>, tensor<2x3xi32>) {
    %0 = flow.tensor.dynamic_constant dense<[[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00], [7.000000e+00, 8.000000e+00, 9.000000e+00, 1.000000e+01, 1.100000e+01, 1.200000e+01]]> : tensor<2x6xf32> -> tensor<2x?xf32>
    %1 = tensor.empty() : tensor<2x3xf32>
    %2 = tensor.empty() : tensor<2x3xi32>
    %cst = arith.constant 0xFF800000 : f32
    %c0_i32 = arith.constant 0 : i32
    %3 = linalg.fill ins(%cst : f32) outs(%1 : tensor<2x3xf32>) -> tensor<2x3xf32>
    %4 = linalg.fill ins(%c0_i32 : i32) outs(%2 : tensor<2x3xi32>) -> tensor<2x3xi32>
    %5:2 = iree_linalg_ext.topk_v2 dimension(1) is_sorted ins(%0 : tensor<2x?xf32>) outs(%3, %4 : tensor<2x3xf32>, tensor<2x3xi32>) {
    ^bb0(%arg0: f32, %arg1: f32):
      %6 = arith.cmpf ogt, %arg0, %arg1 : f32
      iree_linalg_ext.yield %6 : i1
    } -> tensor<2x3xf32>, tensor<2x3xi32>
    return %5#0, %5#1 : tensor<2x3xf32>, tensor<2x3xi32>
  }
  func.func @topk_1d_dynamic_k(%arg0: tensor<10xf32>) -> (tensor<?xf32>, tensor<?xf32>, tensor<?xi32>, tensor<?xi32>) {
    %0 = flow.tensor.dynamic_constant dense<0xFF800000> : tensor<3xf32> -> tensor<?xf32>
    %1 = flow.tensor.dynamic_constant dense<0> : tensor<3xi32> -> tensor<?xi32>
    %2:2 = iree_linalg_ext.topk_v2 dimension(0) is_sorted ins(%arg0 : tensor<10xf32>) outs(%0, %1 : tensor<?xf32>, tensor<?xi32>) {
    ^bb0(%arg1: f32, %arg2: f32):
      %5 = arith.cmpf ogt, %arg1, %arg2 : f32
      iree_linalg_ext.yield %5 : i1
    } -> tensor<?xf32>, tensor<?xi32>
    %3 = flow.tensor.dynamic_constant dense<[1.000000e+01, 9.000000e+00, 8.000000e+00]> : tensor<3xf32> -> tensor<?xf32>
    %4 = flow.tensor.dynamic_constant dense<[5, 8, 2]> : tensor<3xi32> -> tensor<?xi32>
    return %2#0, %3, %2#1, %4 : tensor<?xf32>, tensor<?xf32>, tensor<?xi32>, tensor<?xi32>
  }
  func.func @with_input_indices(%arg0: tensor<10xf32>, %arg1: tensor<10xi32>) -> (tensor<3xf32>, tensor<3xi32>) {
    %0 = tensor.empty() : tensor<3xf32>
    %1 = tensor.empty() : tensor<3xi32>
    %cst = arith.constant 0xFF800000 : f32
    %c0_i32 = arith.constant 0 : i32
    %2 = linalg.fill ins(%cst : f32) outs(%0 : tensor<3xf32>) -> tensor<3xf32>
    %3 = linalg.fill ins(%c0_i32 : i32) outs(%1 : tensor<3xi32>) -> tensor<3xi32>
    %4:2 = iree_linalg_ext.topk_v2 dimension(0) is_sorted ins(%arg0, %arg1 : tensor<10xf32>, tensor<10xi32>) outs(%2, %3 : tensor<3xf32>, tensor<3xi32>) {
    ^bb0(%arg2: f32, %arg3: f32):
      %5 = arith.cmpf ogt, %arg2, %arg3 : f32
      iree_linalg_ext.yield %5 : i1
    } -> tensor<3xf32>, tensor<3xi32>
    return %4#0, %4#1 : tensor<3xf32>, tensor<3xi32>
  }
}

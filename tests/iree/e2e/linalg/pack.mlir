// Derived from IREE (tests/e2e/linalg/pack.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

#map = affine_map<(d0, d1) -> (d0, d1)>
module {
  func.func private @generate_2D_source(%arg0: index, %arg1: index) -> tensor<?x?xi32> {
    %0 = tensor.empty(%arg0, %arg1) : tensor<?x?xi32>
    %1 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel"]} outs(%0 : tensor<?x?xi32>) {
    ^bb0(%out: i32):
      %4 = linalg.index 0 : index
      %5 = linalg.index 1 : index
      %6 = arith.muli %4, %arg1 : index
      %7 = arith.addi %5, %6 : index
      %8 = arith.index_cast %7 : index to i32
      linalg.yield %8 : i32
    } -> tensor<?x?xi32>
    %2 = util.optimization_barrier %1 : tensor<?x?xi32>
    %3 = flow.tensor.tie_shape %2 : tensor<?x?xi32>{%arg0, %arg1}
    return %3 : tensor<?x?xi32>
  }
  func.func @static_pack_simple(%arg0: tensor<4x4xi32>) -> tensor<2x2x2x2xi32> {
    %0 = tensor.empty() : tensor<2x2x2x2xi32>
    %pack = linalg.pack %arg0 inner_dims_pos = [0, 1] inner_tiles = [2, 2] into %0 : tensor<4x4xi32> -> tensor<2x2x2x2xi32>
    return %pack : tensor<2x2x2x2xi32>
  }
  func.func @dynamic_pack_simple() -> tensor<2x2x2x2xi32> {
    %0 = flow.tensor.dynamic_constant dense<[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]> : tensor<4x4xi32> -> tensor<?x?xi32>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %0, %c0 : tensor<?x?xi32>
    %dim_0 = tensor.dim %0, %c1 : tensor<?x?xi32>
    %1 = arith.ceildivui %dim, %c2 : index
    %2 = arith.ceildivui %dim_0, %c2 : index
    %3 = tensor.empty(%1, %2) : tensor<?x?x2x2xi32>
    %pack = linalg.pack %0 inner_dims_pos = [0, 1] inner_tiles = [2, 2] into %3 : tensor<?x?xi32> -> tensor<?x?x2x2xi32>
    %cast = tensor.cast %pack : tensor<?x?x2x2xi32> to tensor<2x2x2x2xi32>
    return %cast : tensor<2x2x2x2xi32>
  }
  func.func @static_pack_simple_pad_mode(%arg0: tensor<4x4xi32>) -> tensor<2x2x3x3xi32> {
    %c0_i32 = arith.constant 0 : i32
    %0 = tensor.empty() : tensor<2x2x3x3xi32>
    %pack = linalg.pack %arg0 padding_value(%c0_i32 : i32) inner_dims_pos = [0, 1] inner_tiles = [3, 3] into %0 : tensor<4x4xi32> -> tensor<2x2x3x3xi32>
    return %pack : tensor<2x2x3x3xi32>
  }
  func.func @dynamic_pack_simple_pad_mode() -> tensor<2x2x3x3xi32> {
    %0 = flow.tensor.dynamic_constant dense<[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]> : tensor<4x4xi32> -> tensor<?x?xi32>
    %c0_i32 = arith.constant 0 : i32
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %dim = tensor.dim %0, %c0 : tensor<?x?xi32>
    %dim_0 = tensor.dim %0, %c1 : tensor<?x?xi32>
    %1 = arith.ceildivui %dim, %c3 : index
    %2 = arith.ceildivui %dim_0, %c3 : index
    %3 = tensor.empty(%1, %2) : tensor<?x?x3x3xi32>
    %pack = linalg.pack %0 padding_value(%c0_i32 : i32) inner_dims_pos = [0, 1] inner_tiles = [3, 3] into %3 : tensor<?x?xi32> -> tensor<?x?x3x3xi32>
    %cast = tensor.cast %pack : tensor<?x?x3x3xi32> to tensor<2x2x3x3xi32>
    return %cast : tensor<2x2x3x3xi32>
  }
  func.func @static_pack_large() -> (tensor<4x16x32x16xi32>, tensor<4x16x32x16xi32>) {
    %c128 = arith.constant 128 : index
    %c256 = arith.constant 256 : index
    %0 = call @generate_2D_source(%c128, %c256) : (index, index) -> tensor<?x?xi32>
    %cast = tensor.cast %0 : tensor<?x?xi32> to tensor<128x256xi32>
    %1 = tensor.empty() : tensor<4x16x32x16xi32>
    %pack = linalg.pack %cast inner_dims_pos = [0, 1] inner_tiles = [32, 16] into %1 : tensor<128x256xi32> -> tensor<4x16x32x16xi32>
    %expanded = tensor.expand_shape %cast [[0, 1], [2, 3]] output_shape [4, 32, 16, 16] : tensor<128x256xi32> into tensor<4x32x16x16xi32>
    %2 = tensor.empty() : tensor<4x16x32x16xi32>
    %transposed = linalg.transpose ins(%expanded : tensor<4x32x16x16xi32>) outs(%2 : tensor<4x16x32x16xi32>) permutation = [0, 2, 1, 3] 
    return %pack, %transposed : tensor<4x16x32x16xi32>, tensor<4x16x32x16xi32>
  }
  func.func @static_pack_transpose_inner_dims_large() -> (tensor<4x16x16x32xi32>, tensor<4x16x16x32xi32>) {
    %c128 = arith.constant 128 : index
    %c256 = arith.constant 256 : index
    %0 = call @generate_2D_source(%c128, %c256) : (index, index) -> tensor<?x?xi32>
    %cast = tensor.cast %0 : tensor<?x?xi32> to tensor<128x256xi32>
    %1 = tensor.empty() : tensor<4x16x16x32xi32>
    %pack = linalg.pack %cast inner_dims_pos = [1, 0] inner_tiles = [16, 32] into %1 : tensor<128x256xi32> -> tensor<4x16x16x32xi32>
    %expanded = tensor.expand_shape %cast [[0, 1], [2, 3]] output_shape [4, 32, 16, 16] : tensor<128x256xi32> into tensor<4x32x16x16xi32>
    %2 = tensor.empty() : tensor<4x16x16x32xi32>
    %transposed = linalg.transpose ins(%expanded : tensor<4x32x16x16xi32>) outs(%2 : tensor<4x16x16x32xi32>) permutation = [0, 2, 3, 1] 
    return %pack, %transposed : tensor<4x16x16x32xi32>, tensor<4x16x16x32xi32>
  }
  func.func @static_pack_pad_large() -> (tensor<4x16x32x16xi32>, tensor<4x16x32x16xi32>) {
    %c100 = arith.constant 100 : index
    %c250 = arith.constant 250 : index
    %0 = call @generate_2D_source(%c100, %c250) : (index, index) -> tensor<?x?xi32>
    %cast = tensor.cast %0 : tensor<?x?xi32> to tensor<100x250xi32>
    %c42_i32 = arith.constant 42 : i32
    %1 = tensor.empty() : tensor<4x16x32x16xi32>
    %pack = linalg.pack %cast padding_value(%c42_i32 : i32) inner_dims_pos = [0, 1] inner_tiles = [32, 16] into %1 : tensor<100x250xi32> -> tensor<4x16x32x16xi32>
    %padded = tensor.pad %cast low[0, 0] high[28, 6] {
    ^bb0(%arg0: index, %arg1: index):
      tensor.yield %c42_i32 : i32
    } : tensor<100x250xi32> to tensor<128x256xi32>
    %expanded = tensor.expand_shape %padded [[0, 1], [2, 3]] output_shape [4, 32, 16, 16] : tensor<128x256xi32> into tensor<4x32x16x16xi32>
    %2 = tensor.empty() : tensor<4x16x32x16xi32>
    %transposed = linalg.transpose ins(%expanded : tensor<4x32x16x16xi32>) outs(%2 : tensor<4x16x32x16xi32>) permutation = [0, 2, 1, 3] 
    return %pack, %transposed : tensor<4x16x32x16xi32>, tensor<4x16x32x16xi32>
  }
  func.func @static_pack_pad_transpose_outer_dims_large() -> (tensor<16x4x32x16xi32>, tensor<16x4x32x16xi32>) {
    %c100 = arith.constant 100 : index
    %c250 = arith.constant 250 : index
    %0 = call @generate_2D_source(%c100, %c250) : (index, index) -> tensor<?x?xi32>
    %cast = tensor.cast %0 : tensor<?x?xi32> to tensor<100x250xi32>
    %c42_i32 = arith.constant 42 : i32
    %1 = tensor.empty() : tensor<16x4x32x16xi32>
    %pack = linalg.pack %cast padding_value(%c42_i32 : i32) outer_dims_perm = [1, 0] inner_dims_pos = [0, 1] inner_tiles = [32, 16] into %1 : tensor<100x250xi32> -> tensor<16x4x32x16xi32>
    %padded = tensor.pad %cast low[0, 0] high[28, 6] {
    ^bb0(%arg0: index, %arg1: index):
      tensor.yield %c42_i32 : i32
    } : tensor<100x250xi32> to tensor<128x256xi32>
    %expanded = tensor.expand_shape %padded [[0, 1], [2, 3]] output_shape [4, 32, 16, 16] : tensor<128x256xi32> into tensor<4x32x16x16xi32>
    %2 = tensor.empty() : tensor<16x4x32x16xi32>
    %transposed = linalg.transpose ins(%expanded : tensor<4x32x16x16xi32>) outs(%2 : tensor<16x4x32x16xi32>) permutation = [2, 0, 1, 3] 
    return %pack, %transposed : tensor<16x4x32x16xi32>, tensor<16x4x32x16xi32>
  }
  func.func @static_pack_pad_transpose_inner_dims_large() -> (tensor<4x16x16x32xi32>, tensor<4x16x16x32xi32>) {
    %c100 = arith.constant 100 : index
    %c250 = arith.constant 250 : index
    %0 = call @generate_2D_source(%c100, %c250) : (index, index) -> tensor<?x?xi32>
    %cast = tensor.cast %0 : tensor<?x?xi32> to tensor<100x250xi32>
    %c42_i32 = arith.constant 42 : i32
    %1 = tensor.empty() : tensor<4x16x16x32xi32>
    %pack = linalg.pack %cast padding_value(%c42_i32 : i32) inner_dims_pos = [1, 0] inner_tiles = [16, 32] into %1 : tensor<100x250xi32> -> tensor<4x16x16x32xi32>
    %padded = tensor.pad %cast low[0, 0] high[28, 6] {
    ^bb0(%arg0: index, %arg1: index):
      tensor.yield %c42_i32 : i32
    } : tensor<100x250xi32> to tensor<128x256xi32>
    %expanded = tensor.expand_shape %padded [[0, 1], [2, 3]] output_shape [4, 32, 16, 16] : tensor<128x256xi32> into tensor<4x32x16x16xi32>
    %2 = tensor.empty() : tensor<4x16x16x32xi32>
    %transposed = linalg.transpose ins(%expanded : tensor<4x32x16x16xi32>) outs(%2 : tensor<4x16x16x32xi32>) permutation = [0, 2, 3, 1] 
    return %pack, %transposed : tensor<4x16x16x32xi32>, tensor<4x16x16x32xi32>
  }
  func.func @static_pack_pad_transpose_inner_and_outer_dims_large() -> (tensor<16x4x16x32xi32>, tensor<16x4x16x32xi32>) {
    %c100 = arith.constant 100 : index
    %c250 = arith.constant 250 : index
    %0 = call @generate_2D_source(%c100, %c250) : (index, index) -> tensor<?x?xi32>
    %cast = tensor.cast %0 : tensor<?x?xi32> to tensor<100x250xi32>
    %c42_i32 = arith.constant 42 : i32
    %1 = tensor.empty() : tensor<16x4x16x32xi32>
    %pack = linalg.pack %cast padding_value(%c42_i32 : i32) outer_dims_perm = [1, 0] inner_dims_pos = [1, 0] inner_tiles = [16, 32] into %1 : tensor<100x250xi32> -> tensor<16x4x16x32xi32>
    %padded = tensor.pad %cast low[0, 0] high[28, 6] {
    ^bb0(%arg0: index, %arg1: index):
      tensor.yield %c42_i32 : i32
    } : tensor<100x250xi32> to tensor<128x256xi32>
    %expanded = tensor.expand_shape %padded [[0, 1], [2, 3]] output_shape [4, 32, 16, 16] : tensor<128x256xi32> into tensor<4x32x16x16xi32>
    %2 = tensor.empty() : tensor<16x4x16x32xi32>
    %transposed = linalg.transpose ins(%expanded : tensor<4x32x16x16xi32>) outs(%2 : tensor<16x4x16x32xi32>) permutation = [2, 0, 3, 1] 
    return %pack, %transposed : tensor<16x4x16x32xi32>, tensor<16x4x16x32xi32>
  }
}

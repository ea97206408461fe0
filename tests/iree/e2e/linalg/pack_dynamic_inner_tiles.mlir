// Derived from IREE (tests/e2e/linalg/pack_dynamic_inner_tiles.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
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
  func.func @fully_dynamic_pack_simple(%arg0: i64) -> tensor<2x2x2x2xi32> {
    %0 = flow.tensor.dynamic_constant dense<[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]> : tensor<4x4xi32> -> tensor<?x?xi32>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %1 = arith.index_cast %arg0 : i64 to index
    %dim = tensor.dim %0, %c0 : tensor<?x?xi32>
    %dim_0 = tensor.dim %0, %c1 : tensor<?x?xi32>
    %2 = arith.ceildivui %dim, %1 : index
    %3 = arith.ceildivui %dim_0, %1 : index
    %4 = tensor.empty(%2, %3, %1, %1) : tensor<?x?x?x?xi32>
    %pack = linalg.pack %0 inner_dims_pos = [0, 1] inner_tiles = [%1, %1] into %4 : tensor<?x?xi32> -> tensor<?x?x?x?xi32>
    %cast = tensor.cast %pack : tensor<?x?x?x?xi32> to tensor<2x2x2x2xi32>
    return %cast : tensor<2x2x2x2xi32>
  }
  func.func @fully_dynamic_pack_pad_transpose_inner_and_outer_dims_large(%arg0: i64, %arg1: i64, %arg2: i64, %arg3: i64) -> (tensor<16x4x16x32xi32>, tensor<16x4x16x32xi32>) {
    %0 = arith.index_cast %arg0 : i64 to index
    %1 = arith.index_cast %arg1 : i64 to index
    %2 = call @generate_2D_source(%0, %1) : (index, index) -> tensor<?x?xi32>
    %c42_i32 = arith.constant 42 : i32
    %3 = arith.index_cast %arg2 : i64 to index
    %4 = arith.index_cast %arg3 : i64 to index
    %5 = arith.ceildivui %0, %4 : index
    %6 = arith.ceildivui %1, %3 : index
    %7 = tensor.empty(%6, %5, %3, %4) : tensor<?x?x?x?xi32>
    %pack = linalg.pack %2 padding_value(%c42_i32 : i32) outer_dims_perm = [1, 0] inner_dims_pos = [1, 0] inner_tiles = [%3, %4] into %7 : tensor<?x?xi32> -> tensor<?x?x?x?xi32>
    %cast = tensor.cast %pack : tensor<?x?x?x?xi32> to tensor<16x4x16x32xi32>
    %c100 = arith.constant 100 : index
    %c250 = arith.constant 250 : index
    %8 = call @generate_2D_source(%c100, %c250) : (index, index) -> tensor<?x?xi32>
    %cast_0 = tensor.cast %8 : tensor<?x?xi32> to tensor<100x250xi32>
    %padded = tensor.pad %cast_0 low[0, 0] high[28, 6] {
    ^bb0(%arg4: index, %arg5: index):
      tensor.yield %c42_i32 : i32
    } : tensor<100x250xi32> to tensor<128x256xi32>
    %expanded = tensor.expand_shape %padded [[0, 1], [2, 3]] output_shape [4, 32, 16, 16] : tensor<128x256xi32> into tensor<4x32x16x16xi32>
    %9 = tensor.empty() : tensor<16x4x16x32xi32>
    %transposed = linalg.transpose ins(%expanded : tensor<4x32x16x16xi32>) outs(%9 : tensor<16x4x16x32xi32>) permutation = [2, 0, 3, 1] 
    return %cast, %transposed : tensor<16x4x16x32xi32>, tensor<16x4x16x32xi32>
  }
  func.func @dynamic_pack_large(%arg0: i64, %arg1: i64) -> (tensor<4x16x32x16xi32>, tensor<4x16x32x16xi32>) {
    %0 = arith.index_cast %arg0 : i64 to index
    %1 = arith.index_cast %arg1 : i64 to index
    %2 = call @generate_2D_source(%0, %1) : (index, index) -> tensor<?x?xi32>
    %c32 = arith.constant 32 : index
    %c16 = arith.constant 16 : index
    %3 = arith.ceildivui %0, %c32 : index
    %4 = arith.ceildivui %1, %c16 : index
    %5 = tensor.empty(%3, %4) : tensor<?x?x32x16xi32>
    %pack = linalg.pack %2 inner_dims_pos = [0, 1] inner_tiles = [32, 16] into %5 : tensor<?x?xi32> -> tensor<?x?x32x16xi32>
    %cast = tensor.cast %pack : tensor<?x?x32x16xi32> to tensor<4x16x32x16xi32>
    %c128 = arith.constant 128 : index
    %c256 = arith.constant 256 : index
    %6 = call @generate_2D_source(%c128, %c256) : (index, index) -> tensor<?x?xi32>
    %cast_0 = tensor.cast %6 : tensor<?x?xi32> to tensor<128x256xi32>
    %expanded = tensor.expand_shape %cast_0 [[0, 1], [2, 3]] output_shape [4, 32, 16, 16] : tensor<128x256xi32> into tensor<4x32x16x16xi32>
    %7 = tensor.empty() : tensor<4x16x32x16xi32>
    %transposed = linalg.transpose ins(%expanded : tensor<4x32x16x16xi32>) outs(%7 : tensor<4x16x32x16xi32>) permutation = [0, 2, 1, 3] 
    return %cast, %transposed : tensor<4x16x32x16xi32>, tensor<4x16x32x16xi32>
  }
  func.func @dynamic_pack_transpose_inner_dims_large(%arg0: i64, %arg1: i64) -> (tensor<4x16x16x32xi32>, tensor<4x16x16x32xi32>) {
    %0 = arith.index_cast %arg0 : i64 to index
    %1 = arith.index_cast %arg1 : i64 to index
    %2 = call @generate_2D_source(%0, %1) : (index, index) -> tensor<?x?xi32>
    %c32 = arith.constant 32 : index
    %c16 = arith.constant 16 : index
    %3 = arith.ceildivui %0, %c32 : index
    %4 = arith.ceildivui %1, %c16 : index
    %5 = tensor.empty(%3, %4) : tensor<?x?x16x32xi32>
    %pack = linalg.pack %2 inner_dims_pos = [1, 0] inner_tiles = [16, 32] into %5 : tensor<?x?xi32> -> tensor<?x?x16x32xi32>
    %cast = tensor.cast %pack : tensor<?x?x16x32xi32> to tensor<4x16x16x32xi32>
    %c128 = arith.constant 128 : index
    %c256 = arith.constant 256 : index
    %6 = call @generate_2D_source(%c128, %c256) : (index, index) -> tensor<?x?xi32>
    %cast_0 = tensor.cast %6 : tensor<?x?xi32> to tensor<128x256xi32>
    %expanded = tensor.expand_shape %cast_0 [[0, 1], [2, 3]] output_shape [4, 32, 16, 16] : tensor<128x256xi32> into tensor<4x32x16x16xi32>
    %7 = tensor.empty() : tensor<4x16x16x32xi32>
    %transposed = linalg.transpose ins(%expanded : tensor<4x32x16x16xi32>) outs(%7 : tensor<4x16x16x32xi32>) permutation = [0, 2, 3, 1] 
    return %cast, %transposed : tensor<4x16x16x32xi32>, tensor<4x16x16x32xi32>
  }
  func.func @dynamic_pack_pad_large(%arg0: i64, %arg1: i64) -> (tensor<4x16x32x16xi32>, tensor<4x16x32x16xi32>) {
    %0 = arith.index_cast %arg0 : i64 to index
    %1 = arith.index_cast %arg1 : i64 to index
    %2 = call @generate_2D_source(%0, %1) : (index, index) -> tensor<?x?xi32>
    %c42_i32 = arith.constant 42 : i32
    %c32 = arith.constant 32 : index
    %c16 = arith.constant 16 : index
    %3 = arith.ceildivui %0, %c32 : index
    %4 = arith.ceildivui %1, %c16 : index
    %5 = tensor.empty(%3, %4) : tensor<?x?x32x16xi32>
    %pack = linalg.pack %2 padding_value(%c42_i32 : i32) inner_dims_pos = [0, 1] inner_tiles = [32, 16] into %5 : tensor<?x?xi32> -> tensor<?x?x32x16xi32>
    %cast = tensor.cast %pack : tensor<?x?x32x16xi32> to tensor<4x16x32x16xi32>
    %c100 = arith.constant 100 : index
    %c250 = arith.constant 250 : index
    %6 = call @generate_2D_source(%c100, %c250) : (index, index) -> tensor<?x?xi32>
    %cast_0 = tensor.cast %6 : tensor<?x?xi32> to tensor<100x250xi32>
    %padded = tensor.pad %cast_0 low[0, 0] high[28, 6] {
    ^bb0(%arg2: index, %arg3: index):
      tensor.yield %c42_i32 : i32
    } : tensor<100x250xi32> to tensor<128x256xi32>
    %expanded = tensor.expand_shape %padded [[0, 1], [2, 3]] output_shape [4, 32, 16, 16] : tensor<128x256xi32> into tensor<4x32x16x16xi32>
    %7 = tensor.empty() : tensor<4x16x32x16xi32>
    %transposed = linalg.transpose ins(%expanded : tensor<4x32x16x16xi32>) outs(%7 : tensor<4x16x32x16xi32>) permutation = [0, 2, 1, 3] 
    return %cast, %transposed : tensor<4x16x32x16xi32>, tensor<4x16x32x16xi32>
  }
  func.func @dynamic_pack_pad_transpose_outer_dims_large(%arg0: i64, %arg1: i64) -> (tensor<16x4x32x16xi32>, tensor<16x4x32x16xi32>) {
    %0 = arith.index_cast %arg0 : i64 to index
    %1 = arith.index_cast %arg1 : i64 to index
    %2 = call @generate_2D_source(%0, %1) : (index, index) -> tensor<?x?xi32>
    %c42_i32 = arith.constant 42 : i32
    %c32 = arith.constant 32 : index
    %c16 = arith.constant 16 : index
    %3 = arith.ceildivui %0, %c32 : index
    %4 = arith.ceildivui %1, %c16 : index
    %5 = tensor.empty(%4, %3) : tensor<?x?x32x16xi32>
    %pack = linalg.pack %2 padding_value(%c42_i32 : i32) outer_dims_perm = [1, 0] inner_dims_pos = [0, 1] inner_tiles = [32, 16] into %5 : tensor<?x?xi32> -> tensor<?x?x32x16xi32>
    %cast = tensor.cast %pack : tensor<?x?x32x16xi32> to tensor<16x4x32x16xi32>
    %c100 = arith.constant 100 : index
    %c250 = arith.constant 250 : index
    %6 = call @generate_2D_source(%c100, %c250) : (index, index) -> tensor<?x?xi32>
    %cast_0 = tensor.cast %6 : tensor<?x?xi32> to tensor<100x250xi32>
    %padded = tensor.pad %cast_0 low[0, 0] high[28, 6] {
    ^bb0(%arg2: index, %arg3: index):
      tensor.yield %c42_i32 : i32
    } : tensor<100x250xi32> to tensor<128x256xi32>
    %expanded = tensor.expand_shape %padded [[0, 1], [2, 3]] output_shape [4, 32, 16, 16] : tensor<128x256xi32> into tensor<4x32x16x16xi32>
    %7 = tensor.empty() : tensor<16x4x32x16xi32>
    %transposed = linalg.transpose ins(%expanded : tensor<4x32x16x16xi32>) outs(%7 : tensor<16x4x32x16xi32>) permutation = [2, 0, 1, 3] 
    return %cast, %transposed : tensor<16x4x32x16xi32>, tensor<16x4x32x16xi32>
  }
  func.func @dynamic_pack_pad_transpose_inner_dims_large(%arg0: i64, %arg1: i64) -> (tensor<4x16x16x32xi32>, tensor<4x16x16x32xi32>) {
    %0 = arith.index_cast %arg0 : i64 to index
    %1 = arith.index_cast %arg1 : i64 to index
    %2 = call @generate_2D_source(%0, %1) : (index, index) -> tensor<?x?xi32>
    %c42_i32 = arith.constant 42 : i32
    %c16 = arith.constant 16 : index
    %c32 = arith.constant 32 : index
    %3 = arith.ceildivui %0, %c32 : index
    %4 = arith.ceildivui %1, %c16 : index
    %5 = tensor.empty(%3, %4) : tensor<?x?x16x32xi32>
    %pack = linalg.pack %2 padding_value(%c42_i32 : i32) inner_dims_pos = [1, 0] inner_tiles = [16, 32] into %5 : tensor<?x?xi32> -> tensor<?x?x16x32xi32>
    %cast = tensor.cast %pack : tensor<?x?x16x32xi32> to tensor<4x16x16x32xi32>
    %c100 = arith.constant 100 : index
    %c250 = arith.constant 250 : index
    %6 = call @generate_2D_source(%c100, %c250) : (index, index) -> tensor<?x?xi32>
    %cast_0 = tensor.cast %6 : tensor<?x?xi32> to tensor<100x250xi32>
    %padded = tensor.pad %cast_0 low[0, 0] high[28, 6] {
    ^bb0(%arg2: index, %arg3: index):
      tensor.yield %c42_i32 : i32
    } : tensor<100x250xi32> to tensor<128x256xi32>
    %expanded = tensor.expand_shape %padded [[0, 1], [2, 3]] output_shape [4, 32, 16, 16] : tensor<128x256xi32> into tensor<4x32x16x16xi32>
    %7 = tensor.empty() : tensor<4x16x16x32xi32>
    %transposed = linalg.transpose ins(%expanded : tensor<4x32x16x16xi32>) outs(%7 : tensor<4x16x16x32xi32>) permutation = [0, 2, 3, 1] 
    return %cast, %transposed : tensor<4x16x16x32xi32>, tensor<4x16x16x32xi32>
  }
  func.func @dynamic_pack_pad_transpose_inner_and_outer_dims_large(%arg0: i64, %arg1: i64) -> (tensor<16x4x16x32xi32>, tensor<16x4x16x32xi32>) {
    %0 = arith.index_cast %arg0 : i64 to index
    %1 = arith.index_cast %arg1 : i64 to index
    %2 = call @generate_2D_source(%0, %1) : (index, index) -> tensor<?x?xi32>
    %c42_i32 = arith.constant 42 : i32
    %c16 = arith.constant 16 : index
    %c32 = arith.constant 32 : index
    %3 = arith.ceildivui %0, %c32 : index
    %4 = arith.ceildivui %1, %c16 : index
    %5 = tensor.empty(%4, %3) : tensor<?x?x16x32xi32>
    %pack = linalg.pack %2 padding_value(%c42_i32 : i32) outer_dims_perm = [1, 0] inner_dims_pos = [1, 0] inner_tiles = [16, 32] into %5 : tensor<?x?xi32> -> tensor<?x?x16x32xi32>
    %cast = tensor.cast %pack : tensor<?x?x16x32xi32> to tensor<16x4x16x32xi32>
    %c100 = arith.constant 100 : index
    %c250 = arith.constant 250 : index
    %6 = call @generate_2D_source(%c100, %c250) : (index, index) -> tensor<?x?xi32>
    %cast_0 = tensor.cast %6 : tensor<?x?xi32> to tensor<100x250xi32>
    %padded = tensor.pad %cast_0 low[0, 0] high[28, 6] {
    ^bb0(%arg2: index, %arg3: index):
      tensor.yield %c42_i32 : i32
    } : tensor<100x250xi32> to tensor<128x256xi32>
    %expanded = tensor.expand_shape %padded [[0, 1], [2, 3]] output_shape [4, 32, 16, 16] : tensor<128x256xi32> into tensor<4x32x16x16xi32>
    %7 = tensor.empty() : tensor<16x4x16x32xi32>
    %transposed = linalg.transpose ins(%expanded : tensor<4x32x16x16xi32>) outs(%7 : tensor<16x4x16x32xi32>) permutation = [2, 0, 3, 1] 
    return %cast, %transposed : tensor<16x4x16x32xi32>, tensor<16x4x16x32xi32>
  }
}

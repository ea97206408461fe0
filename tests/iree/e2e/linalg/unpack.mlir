// Derived from IREE (tests/e2e/linalg/unpack.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
module {
  func.func private @generate_4D_source(%arg0: index, %arg1: index, %arg2: index, %arg3: index) -> tensor<?x?x?x?xi32> {
    %0 = tensor.empty(%arg0, %arg1, %arg2, %arg3) : tensor<?x?x?x?xi32>
    %1 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%0 : tensor<?x?x?x?xi32>) {
    ^bb0(%out: i32):
      %2 = linalg.index 0 : index
      %3 = linalg.index 1 : index
      %4 = linalg.index 2 : index
      %5 = linalg.index 3 : index
      %6 = arith.muli %2, %arg1 : index
      %7 = arith.addi %6, %3 : index
      %8 = arith.muli %7, %arg2 : index
      %9 = arith.addi %8, %4 : index
      %10 = arith.muli %9, %arg3 : index
      %11 = arith.addi %10, %5 : index
      %12 = arith.index_cast %11 : index to i32
      linalg.yield %12 : i32
    } -> tensor<?x?x?x?xi32>
    return %1 : tensor<?x?x?x?xi32>
  }
  func.func @static_unpack_simple(%arg0: tensor<2x2x2x2xi32>) -> tensor<4x4xi32> {
    %0 = tensor.empty() : tensor<4x4xi32>
    %unpack = linalg.unpack %arg0 inner_dims_pos = [0, 1] inner_tiles = [2, 2] into %0 : tensor<2x2x2x2xi32> -> tensor<4x4xi32>
    return %unpack : tensor<4x4xi32>
  }
  func.func @dynamic_unpack_simple() -> tensor<4x4xi32> {
    %0 = flow.tensor.dynamic_constant dense<[[[[0, 1], [4, 5]], [[2, 3], [6, 7]]], [[[8, 9], [12, 13]], [[10, 11], [14, 15]]]]> : tensor<2x2x2x2xi32> -> tensor<?x?x2x2xi32>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %dim = tensor.dim %0, %c0 : tensor<?x?x2x2xi32>
    %dim_0 = tensor.dim %0, %c1 : tensor<?x?x2x2xi32>
    %1 = arith.muli %dim, %c2 : index
    %2 = arith.muli %dim_0, %c2 : index
    %3 = tensor.empty(%1, %2) : tensor<?x?xi32>
    %unpack = linalg.unpack %0 inner_dims_pos = [0, 1] inner_tiles = [2, 2] into %3 : tensor<?x?x2x2xi32> -> tensor<?x?xi32>
    %cast = tensor.cast %unpack : tensor<?x?xi32> to tensor<4x4xi32>
    return %cast : tensor<4x4xi32>
  }
  func.func @static_unpack_simple_extract_slice(%arg0: tensor<2x2x3x3xi32>) -> tensor<4x4xi32> {
    %0 = tensor.empty() : tensor<4x4xi32>
    %unpack = linalg.unpack %arg0 inner_dims_pos = [0, 1] inner_tiles = [3, 3] into %0 : tensor<2x2x3x3xi32> -> tensor<4x4xi32>
    return %unpack : tensor<4x4xi32>
  }
  func.func @dynamic_unpack_simple_extract_slice() -> tensor<4x4xi32> {
    %0 = flow.tensor.dynamic_constant dense<[[[[0, 1, 2], [4, 5, 6], [8, 9, 10]], [[3, 0, 0], [7, 0, 0], [11, 0, 0]]], [[[12, 13, 14], [0, 0, 0], [0, 0, 0]], [[15, 0, 0], [0, 0, 0], [0, 0, 0]]]]> : tensor<2x2x3x3xi32> -> tensor<?x?x3x3xi32>
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %dim = tensor.dim %0, %c0 : tensor<?x?x3x3xi32>
    %dim_0 = tensor.dim %0, %c1 : tensor<?x?x3x3xi32>
    %1 = arith.muli %dim, %c3 : index
    %2 = arith.muli %dim_0, %c3 : index
    %3 = arith.subi %1, %c2 : index
    %4 = arith.subi %2, %c2 : index
    %5 = tensor.empty(%3, %4) : tensor<?x?xi32>
    %unpack = linalg.unpack %0 inner_dims_pos = [0, 1] inner_tiles = [3, 3] into %5 : tensor<?x?x3x3xi32> -> tensor<?x?xi32>
    %cast = tensor.cast %unpack : tensor<?x?xi32> to tensor<4x4xi32>
    return %cast : tensor<4x4xi32>
  }
  func.func @static_unpack_large() -> (tensor<128x256xi32>, tensor<128x256xi32>) {
    %c4 = arith.constant 4 : index
    %c16 = arith.constant 16 : index
    %c32 = arith.constant 32 : index
    %c16_0 = arith.constant 16 : index
    %0 = call @generate_4D_source(%c4, %c16, %c32, %c16_0) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast = tensor.cast %0 : tensor<?x?x?x?xi32> to tensor<4x16x32x16xi32>
    %1 = tensor.empty() : tensor<128x256xi32>
    %unpack = linalg.unpack %cast inner_dims_pos = [0, 1] inner_tiles = [32, 16] into %1 : tensor<4x16x32x16xi32> -> tensor<128x256xi32>
    %2 = tensor.empty() : tensor<4x32x16x16xi32>
    %transposed = linalg.transpose ins(%cast : tensor<4x16x32x16xi32>) outs(%2 : tensor<4x32x16x16xi32>) permutation = [0, 2, 1, 3] 
    %collapsed = tensor.collapse_shape %transposed [[0, 1], [2, 3]] : tensor<4x32x16x16xi32> into tensor<128x256xi32>
    return %unpack, %collapsed : tensor<128x256xi32>, tensor<128x256xi32>
  }
  func.func @dynamic_unpack_large(%arg0: i64, %arg1: i64, %arg2: i64, %arg3: i64, %arg4: i64, %arg5: i64) -> (tensor<128x256xi32>, tensor<128x256xi32>) {
    %0 = arith.index_cast %arg0 : i64 to index
    %1 = arith.index_cast %arg1 : i64 to index
    %2 = arith.index_cast %arg2 : i64 to index
    %3 = arith.index_cast %arg3 : i64 to index
    %4 = call @generate_4D_source(%0, %1, %2, %3) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast = tensor.cast %4 : tensor<?x?x?x?xi32> to tensor<?x?x32x16xi32>
    %5 = arith.index_cast %arg4 : i64 to index
    %6 = arith.index_cast %arg5 : i64 to index
    %7 = tensor.empty(%5, %6) : tensor<?x?xi32>
    %unpack = linalg.unpack %cast inner_dims_pos = [0, 1] inner_tiles = [32, 16] into %7 : tensor<?x?x32x16xi32> -> tensor<?x?xi32>
    %cast_0 = tensor.cast %unpack : tensor<?x?xi32> to tensor<128x256xi32>
    %8 = call @generate_4D_source(%0, %1, %2, %3) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast_1 = tensor.cast %8 : tensor<?x?x?x?xi32> to tensor<4x16x32x16xi32>
    %9 = tensor.empty() : tensor<4x32x16x16xi32>
    %transposed = linalg.transpose ins(%cast_1 : tensor<4x16x32x16xi32>) outs(%9 : tensor<4x32x16x16xi32>) permutation = [0, 2, 1, 3] 
    %collapsed = tensor.collapse_shape %transposed [[0, 1], [2, 3]] : tensor<4x32x16x16xi32> into tensor<128x256xi32>
    return %cast_0, %collapsed : tensor<128x256xi32>, tensor<128x256xi32>
  }
  func.func @dynamic_unpack_transpose_inner_dims_large(%arg0: i64, %arg1: i64, %arg2: i64, %arg3: i64, %arg4: i64, %arg5: i64) -> (tensor<128x256xi32>, tensor<128x256xi32>) {
    %0 = arith.index_cast %arg0 : i64 to index
    %1 = arith.index_cast %arg1 : i64 to index
    %2 = arith.index_cast %arg2 : i64 to index
    %3 = arith.index_cast %arg3 : i64 to index
    %4 = call @generate_4D_source(%0, %1, %2, %3) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast = tensor.cast %4 : tensor<?x?x?x?xi32> to tensor<?x?x16x32xi32>
    %5 = arith.index_cast %arg4 : i64 to index
    %6 = arith.index_cast %arg5 : i64 to index
    %7 = tensor.empty(%5, %6) : tensor<?x?xi32>
    %unpack = linalg.unpack %cast inner_dims_pos = [1, 0] inner_tiles = [16, 32] into %7 : tensor<?x?x16x32xi32> -> tensor<?x?xi32>
    %cast_0 = tensor.cast %unpack : tensor<?x?xi32> to tensor<128x256xi32>
    %8 = call @generate_4D_source(%0, %1, %2, %3) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast_1 = tensor.cast %8 : tensor<?x?x?x?xi32> to tensor<4x16x16x32xi32>
    %9 = tensor.empty() : tensor<4x32x16x16xi32>
    %transposed = linalg.transpose ins(%cast_1 : tensor<4x16x16x32xi32>) outs(%9 : tensor<4x32x16x16xi32>) permutation = [0, 3, 1, 2] 
    %collapsed = tensor.collapse_shape %transposed [[0, 1], [2, 3]] : tensor<4x32x16x16xi32> into tensor<128x256xi32>
    return %cast_0, %collapsed : tensor<128x256xi32>, tensor<128x256xi32>
  }
  func.func @dynamic_unpack_transpose_outer_dims_large(%arg0: i64, %arg1: i64, %arg2: i64, %arg3: i64, %arg4: i64, %arg5: i64) -> (tensor<128x256xi32>, tensor<128x256xi32>) {
    %0 = arith.index_cast %arg0 : i64 to index
    %1 = arith.index_cast %arg1 : i64 to index
    %2 = arith.index_cast %arg2 : i64 to index
    %3 = arith.index_cast %arg3 : i64 to index
    %4 = call @generate_4D_source(%0, %1, %2, %3) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast = tensor.cast %4 : tensor<?x?x?x?xi32> to tensor<?x?x32x16xi32>
    %5 = arith.index_cast %arg4 : i64 to index
    %6 = arith.index_cast %arg5 : i64 to index
    %7 = tensor.empty(%5, %6) : tensor<?x?xi32>
    %unpack = linalg.unpack %cast outer_dims_perm = [1, 0] inner_dims_pos = [0, 1] inner_tiles = [32, 16] into %7 : tensor<?x?x32x16xi32> -> tensor<?x?xi32>
    %cast_0 = tensor.cast %unpack : tensor<?x?xi32> to tensor<128x256xi32>
    %8 = call @generate_4D_source(%0, %1, %2, %3) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast_1 = tensor.cast %8 : tensor<?x?x?x?xi32> to tensor<16x4x32x16xi32>
    %9 = tensor.empty() : tensor<4x32x16x16xi32>
    %transposed = linalg.transpose ins(%cast_1 : tensor<16x4x32x16xi32>) outs(%9 : tensor<4x32x16x16xi32>) permutation = [1, 2, 0, 3] 
    %collapsed = tensor.collapse_shape %transposed [[0, 1], [2, 3]] : tensor<4x32x16x16xi32> into tensor<128x256xi32>
    return %cast_0, %collapsed : tensor<128x256xi32>, tensor<128x256xi32>
  }
  func.func @dynamic_unpack_transpose_inner_and_outer_dims_large(%arg0: i64, %arg1: i64, %arg2: i64, %arg3: i64, %arg4: i64, %arg5: i64) -> (tensor<128x256xi32>, tensor<128x256xi32>) {
    %0 = arith.index_cast %arg0 : i64 to index
    %1 = arith.index_cast %arg1 : i64 to index
    %2 = arith.index_cast %arg2 : i64 to index
    %3 = arith.index_cast %arg3 : i64 to index
    %4 = call @generate_4D_source(%0, %1, %2, %3) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast = tensor.cast %4 : tensor<?x?x?x?xi32> to tensor<?x?x16x32xi32>
    %5 = arith.index_cast %arg4 : i64 to index
    %6 = arith.index_cast %arg5 : i64 to index
    %7 = tensor.empty(%5, %6) : tensor<?x?xi32>
    %unpack = linalg.unpack %cast outer_dims_perm = [1, 0] inner_dims_pos = [1, 0] inner_tiles = [16, 32] into %7 : tensor<?x?x16x32xi32> -> tensor<?x?xi32>
    %cast_0 = tensor.cast %unpack : tensor<?x?xi32> to tensor<128x256xi32>
    %8 = call @generate_4D_source(%0, %1, %2, %3) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast_1 = tensor.cast %8 : tensor<?x?x?x?xi32> to tensor<16x4x16x32xi32>
    %9 = tensor.empty() : tensor<4x32x16x16xi32>
    %transposed = linalg.transpose ins(%cast_1 : tensor<16x4x16x32xi32>) outs(%9 : tensor<4x32x16x16xi32>) permutation = [1, 3, 0, 2] 
    %collapsed = tensor.collapse_shape %transposed [[0, 1], [2, 3]] : tensor<4x32x16x16xi32> into tensor<128x256xi32>
    return %cast_0, %collapsed : tensor<128x256xi32>, tensor<128x256xi32>
  }
  func.func @static_unpack_extract_slice_large() -> (tensor<100x250xi32>, tensor<100x250xi32>) {
    %c4 = arith.constant 4 : index
    %c16 = arith.constant 16 : index
    %c32 = arith.constant 32 : index
    %c16_0 = arith.constant 16 : index
    %0 = call @generate_4D_source(%c4, %c16, %c32, %c16_0) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast = tensor.cast %0 : tensor<?x?x?x?xi32> to tensor<4x16x32x16xi32>
    %1 = tensor.empty() : tensor<100x250xi32>
    %unpack = linalg.unpack %cast inner_dims_pos = [0, 1] inner_tiles = [32, 16] into %1 : tensor<4x16x32x16xi32> -> tensor<100x250xi32>
    %2 = tensor.empty() : tensor<4x32x16x16xi32>
    %transposed = linalg.transpose ins(%cast : tensor<4x16x32x16xi32>) outs(%2 : tensor<4x32x16x16xi32>) permutation = [0, 2, 1, 3] 
    %collapsed = tensor.collapse_shape %transposed [[0, 1], [2, 3]] : tensor<4x32x16x16xi32> into tensor<128x256xi32>
    %extracted_slice = tensor.extract_slice %collapsed[0, 0] [100, 250] [1, 1] : tensor<128x256xi32> to tensor<100x250xi32>
    return %unpack, %extracted_slice : tensor<100x250xi32>, tensor<100x250xi32>
  }
  func.func @dynamic_unpack_extract_slice_large(%arg0: i64, %arg1: i64, %arg2: i64, %arg3: i64, %arg4: i64, %arg5: i64) -> (tensor<100x250xi32>, tensor<100x250xi32>) {
    %0 = arith.index_cast %arg0 : i64 to index
    %1 = arith.index_cast %arg1 : i64 to index
    %2 = arith.index_cast %arg2 : i64 to index
    %3 = arith.index_cast %arg3 : i64 to index
    %4 = call @generate_4D_source(%0, %1, %2, %3) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast = tensor.cast %4 : tensor<?x?x?x?xi32> to tensor<?x?x32x16xi32>
    %5 = arith.index_cast %arg4 : i64 to index
    %6 = arith.index_cast %arg5 : i64 to index
    %7 = tensor.empty(%5, %6) : tensor<?x?xi32>
    %unpack = linalg.unpack %cast inner_dims_pos = [0, 1] inner_tiles = [32, 16] into %7 : tensor<?x?x32x16xi32> -> tensor<?x?xi32>
    %cast_0 = tensor.cast %unpack : tensor<?x?xi32> to tensor<100x250xi32>
    %8 = call @generate_4D_source(%0, %1, %2, %3) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast_1 = tensor.cast %8 : tensor<?x?x?x?xi32> to tensor<4x16x32x16xi32>
    %9 = tensor.empty() : tensor<4x32x16x16xi32>
    %transposed = linalg.transpose ins(%cast_1 : tensor<4x16x32x16xi32>) outs(%9 : tensor<4x32x16x16xi32>) permutation = [0, 2, 1, 3] 
    %collapsed = tensor.collapse_shape %transposed [[0, 1], [2, 3]] : tensor<4x32x16x16xi32> into tensor<128x256xi32>
    %extracted_slice = tensor.extract_slice %collapsed[0, 0] [100, 250] [1, 1] : tensor<128x256xi32> to tensor<100x250xi32>
    return %cast_0, %extracted_slice : tensor<100x250xi32>, tensor<100x250xi32>
  }
  func.func @static_unpack_extract_slice_transpose_inner_dims_large() -> (tensor<100x250xi32>, tensor<100x250xi32>) {
    %c4 = arith.constant 4 : index
    %c16 = arith.constant 16 : index
    %c16_0 = arith.constant 16 : index
    %c32 = arith.constant 32 : index
    %0 = call @generate_4D_source(%c4, %c16, %c16_0, %c32) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast = tensor.cast %0 : tensor<?x?x?x?xi32> to tensor<4x16x16x32xi32>
    %1 = tensor.empty() : tensor<100x250xi32>
    %unpack = linalg.unpack %cast inner_dims_pos = [1, 0] inner_tiles = [16, 32] into %1 : tensor<4x16x16x32xi32> -> tensor<100x250xi32>
    %2 = tensor.empty() : tensor<4x32x16x16xi32>
    %transposed = linalg.transpose ins(%cast : tensor<4x16x16x32xi32>) outs(%2 : tensor<4x32x16x16xi32>) permutation = [0, 3, 1, 2] 
    %collapsed = tensor.collapse_shape %transposed [[0, 1], [2, 3]] : tensor<4x32x16x16xi32> into tensor<128x256xi32>
    %extracted_slice = tensor.extract_slice %collapsed[0, 0] [100, 250] [1, 1] : tensor<128x256xi32> to tensor<100x250xi32>
    return %unpack, %extracted_slice : tensor<100x250xi32>, tensor<100x250xi32>
  }
  func.func @static_unpack_extract_slice_transpose_outer_dims_large() -> (tensor<100x250xi32>, tensor<100x250xi32>) {
    %c16 = arith.constant 16 : index
    %c4 = arith.constant 4 : index
    %c32 = arith.constant 32 : index
    %c16_0 = arith.constant 16 : index
    %0 = call @generate_4D_source(%c16, %c4, %c32, %c16_0) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast = tensor.cast %0 : tensor<?x?x?x?xi32> to tensor<16x4x32x16xi32>
    %1 = tensor.empty() : tensor<100x250xi32>
    %unpack = linalg.unpack %cast outer_dims_perm = [1, 0] inner_dims_pos = [0, 1] inner_tiles = [32, 16] into %1 : tensor<16x4x32x16xi32> -> tensor<100x250xi32>
    %2 = tensor.empty() : tensor<4x32x16x16xi32>
    %transposed = linalg.transpose ins(%cast : tensor<16x4x32x16xi32>) outs(%2 : tensor<4x32x16x16xi32>) permutation = [1, 2, 0, 3] 
    %collapsed = tensor.collapse_shape %transposed [[0, 1], [2, 3]] : tensor<4x32x16x16xi32> into tensor<128x256xi32>
    %extracted_slice = tensor.extract_slice %collapsed[0, 0] [100, 250] [1, 1] : tensor<128x256xi32> to tensor<100x250xi32>
    return %unpack, %extracted_slice : tensor<100x250xi32>, tensor<100x250xi32>
  }
  func.func @static_unpack_extract_slice_transpose_inner_and_outer_dims_large() -> (tensor<100x250xi32>, tensor<100x250xi32>) {
    %c16 = arith.constant 16 : index
    %c4 = arith.constant 4 : index
    %c16_0 = arith.constant 16 : index
    %c32 = arith.constant 32 : index
    %0 = call @generate_4D_source(%c16, %c4, %c16_0, %c32) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast = tensor.cast %0 : tensor<?x?x?x?xi32> to tensor<16x4x16x32xi32>
    %1 = tensor.empty() : tensor<100x250xi32>
    %unpack = linalg.unpack %cast outer_dims_perm = [1, 0] inner_dims_pos = [1, 0] inner_tiles = [16, 32] into %1 : tensor<16x4x16x32xi32> -> tensor<100x250xi32>
    %2 = tensor.empty() : tensor<4x32x16x16xi32>
    %transposed = linalg.transpose ins(%cast : tensor<16x4x16x32xi32>) outs(%2 : tensor<4x32x16x16xi32>) permutation = [1, 3, 0, 2] 
    %collapsed = tensor.collapse_shape %transposed [[0, 1], [2, 3]] : tensor<4x32x16x16xi32> into tensor<128x256xi32>
    %extracted_slice = tensor.extract_slice %collapsed[0, 0] [100, 250] [1, 1] : tensor<128x256xi32> to tensor<100x250xi32>
    return %unpack, %extracted_slice : tensor<100x250xi32>, tensor<100x250xi32>
  }
  func.func @dynamic_unpack_extract_slice_transpose_inner_dims_large(%arg0: i64, %arg1: i64, %arg2: i64, %arg3: i64, %arg4: i64, %arg5: i64) -> (tensor<100x250xi32>, tensor<100x250xi32>) {
    %0 = arith.index_cast %arg0 : i64 to index
    %1 = arith.index_cast %arg1 : i64 to index
    %2 = arith.index_cast %arg2 : i64 to index
    %3 = arith.index_cast %arg3 : i64 to index
    %4 = call @generate_4D_source(%0, %1, %2, %3) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast = tensor.cast %4 : tensor<?x?x?x?xi32> to tensor<?x?x16x32xi32>
    %5 = arith.index_cast %arg4 : i64 to index
    %6 = arith.index_cast %arg5 : i64 to index
    %7 = tensor.empty(%5, %6) : tensor<?x?xi32>
    %unpack = linalg.unpack %cast inner_dims_pos = [1, 0] inner_tiles = [16, 32] into %7 : tensor<?x?x16x32xi32> -> tensor<?x?xi32>
    %cast_0 = tensor.cast %unpack : tensor<?x?xi32> to tensor<100x250xi32>
    %8 = call @generate_4D_source(%0, %1, %2, %3) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast_1 = tensor.cast %8 : tensor<?x?x?x?xi32> to tensor<4x16x16x32xi32>
    %9 = tensor.empty() : tensor<4x32x16x16xi32>
    %transposed = linalg.transpose ins(%cast_1 : tensor<4x16x16x32xi32>) outs(%9 : tensor<4x32x16x16xi32>) permutation = [0, 3, 1, 2] 
    %collapsed = tensor.collapse_shape %transposed [[0, 1], [2, 3]] : tensor<4x32x16x16xi32> into tensor<128x256xi32>
    %extracted_slice = tensor.extract_slice %collapsed[0, 0] [100, 250] [1, 1] : tensor<128x256xi32> to tensor<100x250xi32>
    return %cast_0, %extracted_slice : tensor<100x250xi32>, tensor<100x250xi32>
  }
  func.func @dynamic_unpack_extract_slice_transpose_outer_dims_large(%arg0: i64, %arg1: i64, %arg2: i64, %arg3: i64, %arg4: i64, %arg5: i64) -> (tensor<100x250xi32>, tensor<100x250xi32>) {
    %0 = arith.index_cast %arg0 : i64 to index
    %1 = arith.index_cast %arg1 : i64 to index
    %2 = arith.index_cast %arg2 : i64 to index
    %3 = arith.index_cast %arg3 : i64 to index
    %4 = call @generate_4D_source(%0, %1, %2, %3) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast = tensor.cast %4 : tensor<?x?x?x?xi32> to tensor<?x?x32x16xi32>
    %5 = arith.index_cast %arg4 : i64 to index
    %6 = arith.index_cast %arg5 : i64 to index
    %7 = tensor.empty(%5, %6) : tensor<?x?xi32>
    %unpack = linalg.unpack %cast outer_dims_perm = [1, 0] inner_dims_pos = [0, 1] inner_tiles = [32, 16] into %7 : tensor<?x?x32x16xi32> -> tensor<?x?xi32>
    %cast_0 = tensor.cast %unpack : tensor<?x?xi32> to tensor<100x250xi32>
    %8 = call @generate_4D_source(%0, %1, %2, %3) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast_1 = tensor.cast %8 : tensor<?x?x?x?xi32> to tensor<16x4x32x16xi32>
    %9 = tensor.empty() : tensor<4x32x16x16xi32>
    %transposed = linalg.transpose ins(%cast_1 : tensor<16x4x32x16xi32>) outs(%9 : tensor<4x32x16x16xi32>) permutation = [1, 2, 0, 3] 
    %collapsed = tensor.collapse_shape %transposed [[0, 1], [2, 3]] : tensor<4x32x16x16xi32> into tensor<128x256xi32>
    %extracted_slice = tensor.extract_slice %collapsed[0, 0] [100, 250] [1, 1] : tensor<128x256xi32> to tensor<100x250xi32>
    return %cast_0, %extracted_slice : tensor<100x250xi32>, tensor<100x250xi32>
  }
  func.func @dynamic_unpack_extract_slice_transpose_inner_and_outer_dims_large(%arg0: i64, %arg1: i64, %arg2: i64, %arg3: i64, %arg4: i64, %arg5: i64) -> (tensor<100x250xi32>, tensor<100x250xi32>) {
    %0 = arith.index_cast %arg0 : i64 to index
    %1 = arith.index_cast %arg1 : i64 to index
    %2 = arith.index_cast %arg2 : i64 to index
    %3 = arith.index_cast %arg3 : i64 to index
    %4 = call @generate_4D_source(%0, %1, %2, %3) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast = tensor.cast %4 : tensor<?x?x?x?xi32> to tensor<?x?x16x32xi32>
    %5 = arith.index_cast %arg4 : i64 to index
    %6 = arith.index_cast %arg5 : i64 to index
    %7 = tensor.empty(%5, %6) : tensor<?x?xi32>
    %unpack = linalg.unpack %cast outer_dims_perm = [1, 0] inner_dims_pos = [1, 0] inner_tiles = [16, 32] into %7 : tensor<?x?x16x32xi32> -> tensor<?x?xi32>
    %cast_0 = tensor.cast %unpack : tensor<?x?xi32> to tensor<100x250xi32>
    %8 = call @generate_4D_source(%0, %1, %2, %3) : (index, index, index, index) -> tensor<?x?x?x?xi32>
    %cast_1 = tensor.cast %8 : tensor<?x?x?x?xi32> to tensor<16x4x16x32xi32>
    %9 = tensor.empty() : tensor<4x32x16x16xi32>
    %transposed = linalg.transpose ins(%cast_1 : tensor<16x4x16x32xi32>) outs(%9 : tensor<4x32x16x16xi32>) permutation = [1, 3, 0, 2] 
    %collapsed = tensor.collapse_shape %transposed [[0, 1], [2, 3]] : tensor<4x32x16x16xi32> into tensor<128x256xi32>
    %extracted_slice = tensor.extract_slice %collapsed[0, 0] [100, 250] [1, 1] : tensor<128x256xi32> to tensor<100x250xi32>
    return %cast_0, %extracted_slice : tensor<100x250xi32>, tensor<100x250xi32>
  }
}

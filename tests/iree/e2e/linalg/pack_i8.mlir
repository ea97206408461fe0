// Derived from IREE (tests/e2e/linalg/pack_i8.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

#map = affine_map<(d0, d1) -> (d0, d1)>
module {
  func.func private @generate_2D_source(%arg0: index, %arg1: index) -> tensor<?x?xi8> {
    %0 = tensor.empty(%arg0, %arg1) : tensor<?x?xi8>
    %1 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel", "parallel"]} outs(%0 : tensor<?x?xi8>) {
    ^bb0(%out: i8):
      %4 = linalg.index 0 : index
      %5 = linalg.index 1 : index
      %6 = arith.muli %4, %arg1 : index
      %7 = arith.addi %5, %6 : index
      %c256 = arith.constant 256 : index
      %8 = arith.remui %7, %c256 : index
      %9 = arith.index_cast %8 : index to i8
      linalg.yield %9 : i8
    } -> tensor<?x?xi8>
    %2 = util.optimization_barrier %1 : tensor<?x?xi8>
    %3 = flow.tensor.tie_shape %2 : tensor<?x?xi8>{%arg0, %arg1}
    return %3 : tensor<?x?xi8>
  }
  func.func @static_pack_vnni_lhs_large() -> (tensor<8x128x16x2xi8>, tensor<8x128x16x2xi8>) {
    %c128 = arith.constant 128 : index
    %c256 = arith.constant 256 : index
    %0 = call @generate_2D_source(%c128, %c256) : (index, index) -> tensor<?x?xi8>
    %cast = tensor.cast %0 : tensor<?x?xi8> to tensor<128x256xi8>
    %1 = tensor.empty() : tensor<8x128x16x2xi8>
    %pack = linalg.pack %cast outer_dims_perm = [0, 1] inner_dims_pos = [0, 1] inner_tiles = [16, 2] into %1 : tensor<128x256xi8> -> tensor<8x128x16x2xi8>
    %expanded = tensor.expand_shape %cast [[0, 1], [2, 3]] output_shape [8, 16, 128, 2] : tensor<128x256xi8> into tensor<8x16x128x2xi8>
    %2 = tensor.empty() : tensor<8x128x16x2xi8>
    %transposed = linalg.transpose ins(%expanded : tensor<8x16x128x2xi8>) outs(%2 : tensor<8x128x16x2xi8>) permutation = [0, 2, 1, 3] 
    return %pack, %transposed : tensor<8x128x16x2xi8>, tensor<8x128x16x2xi8>
  }
  func.func @static_pack_vnni_rhs_large() -> (tensor<32x128x16x2xi8>, tensor<32x128x16x2xi8>) {
    %c256 = arith.constant 256 : index
    %c512 = arith.constant 512 : index
    %0 = call @generate_2D_source(%c256, %c512) : (index, index) -> tensor<?x?xi8>
    %cast = tensor.cast %0 : tensor<?x?xi8> to tensor<256x512xi8>
    %1 = tensor.empty() : tensor<32x128x16x2xi8>
    %pack = linalg.pack %cast outer_dims_perm = [1, 0] inner_dims_pos = [1, 0] inner_tiles = [16, 2] into %1 : tensor<256x512xi8> -> tensor<32x128x16x2xi8>
    %expanded = tensor.expand_shape %cast [[0, 1], [2, 3]] output_shape [128, 2, 32, 16] : tensor<256x512xi8> into tensor<128x2x32x16xi8>
    %2 = tensor.empty() : tensor<32x128x16x2xi8>
    %transposed = linalg.transpose ins(%expanded : tensor<128x2x32x16xi8>) outs(%2 : tensor<32x128x16x2xi8>) permutation = [2, 0, 3, 1] 
    return %pack, %transposed : tensor<32x128x16x2xi8>, tensor<32x128x16x2xi8>
  }
  func.func @static_pack_vnni_lhs_large_with_pad() -> (tensor<8x128x16x2xi8>, tensor<8x128x16x2xi8>) {
    %c127 = arith.constant 127 : index
    %c255 = arith.constant 255 : index
    %0 = call @generate_2D_source(%c127, %c255) : (index, index) -> tensor<?x?xi8>
    %cast = tensor.cast %0 : tensor<?x?xi8> to tensor<127x255xi8>
    %c0_i8 = arith.constant 0 : i8
    %1 = tensor.empty() : tensor<8x128x16x2xi8>
    %pack = linalg.pack %cast padding_value(%c0_i8 : i8) outer_dims_perm = [0, 1] inner_dims_pos = [0, 1] inner_tiles = [16, 2] into %1 : tensor<127x255xi8> -> tensor<8x128x16x2xi8>
    %padded = tensor.pad %cast low[0, 0] high[1, 1] {
    ^bb0(%arg0: index, %arg1: index):
      tensor.yield %c0_i8 : i8
    } : tensor<127x255xi8> to tensor<128x256xi8>
    %expanded = tensor.expand_shape %padded [[0, 1], [2, 3]] output_shape [8, 16, 128, 2] : tensor<128x256xi8> into tensor<8x16x128x2xi8>
    %2 = tensor.empty() : tensor<8x128x16x2xi8>
    %transposed = linalg.transpose ins(%expanded : tensor<8x16x128x2xi8>) outs(%2 : tensor<8x128x16x2xi8>) permutation = [0, 2, 1, 3] 
    return %pack, %transposed : tensor<8x128x16x2xi8>, tensor<8x128x16x2xi8>
  }
  func.func @static_pack_vnni_rhs_large_with_pad() -> (tensor<32x128x16x2xi8>, tensor<32x128x16x2xi8>) {
    %c255 = arith.constant 255 : index
    %c511 = arith.constant 511 : index
    %0 = call @generate_2D_source(%c255, %c511) : (index, index) -> tensor<?x?xi8>
    %cast = tensor.cast %0 : tensor<?x?xi8> to tensor<255x511xi8>
    %c0_i8 = arith.constant 0 : i8
    %1 = tensor.empty() : tensor<32x128x16x2xi8>
    %pack = linalg.pack %cast padding_value(%c0_i8 : i8) outer_dims_perm = [1, 0] inner_dims_pos = [1, 0] inner_tiles = [16, 2] into %1 : tensor<255x511xi8> -> tensor<32x128x16x2xi8>
    %padded = tensor.pad %cast low[0, 0] high[1, 1] {
    ^bb0(%arg0: index, %arg1: index):
      tensor.yield %c0_i8 : i8
    } : tensor<255x511xi8> to tensor<256x512xi8>
    %expanded = tensor.expand_shape %padded [[0, 1], [2, 3]] output_shape [128, 2, 32, 16] : tensor<256x512xi8> into tensor<128x2x32x16xi8>
    %2 = tensor.empty() : tensor<32x128x16x2xi8>
    %transposed = linalg.transpose ins(%expanded : tensor<128x2x32x16xi8>) outs(%2 : tensor<32x128x16x2xi8>) permutation = [2, 0, 3, 1] 
    return %pack, %transposed : tensor<32x128x16x2xi8>, tensor<32x128x16x2xi8>
  }
}

// Derived from IREE (tests/e2e/linalg_ext_ops/scan_configured.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

#map = affine_map<(d0) -> (d0)>
#map1 = affine_map<(d0, d1) -> (d0, d1)>
#translation = #iree_codegen.translation_info<pipeline = #iree_gpu.pipeline<VectorDistribute> workgroup_size = [64, 1, 1] subgroup_size = 64>
#translation1 = #iree_codegen.translation_info<pipeline = #iree_gpu.pipeline<VectorDistribute> workgroup_size = [128, 1, 1] subgroup_size = 64>
#compilation = #iree_codegen.compilation_info<lowering_config = #iree_gpu.lowering_config<{lane_basis = [[8], [0]], subgroup_basis = [[1], [0]], thread = [8]}>, translation_info = #translation>
#compilation1 = #iree_codegen.compilation_info<lowering_config = #iree_gpu.lowering_config<{lane_basis = [[16], [0]], subgroup_basis = [[1], [0]], thread = [16]}>, translation_info = #translation>
#compilation2 = #iree_codegen.compilation_info<lowering_config = #iree_gpu.lowering_config<{lane_basis = [[2, 8], [0, 1]], subgroup_basis = [[1, 1], [0, 1]], thread = [2, 8]}>, translation_info = #translation>
#compilation3 = #iree_codegen.compilation_info<lowering_config = #iree_gpu.lowering_config<{lane_basis = [[8], [0]], subgroup_basis = [[2], [0]], thread = [4]}>, translation_info = #translation1>
module {
  func.func @scan_dim0_inclusive_sum_configured_vector_distribute(%arg0: tensor<f32>) -> (tensor<4xf32>, tensor<f32>) {
    %c1 = arith.constant 1 : index
    %0 = tensor.empty() : tensor<256xf32>
    %1 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel"]} outs(%0 : tensor<256xf32>) {
    ^bb0(%out: f32):
      %5 = linalg.index 0 : index
      %6 = arith.addi %5, %c1 : index
      %7 = arith.index_cast %6 : index to i32
      %8 = arith.sitofp %7 : i32 to f32
      linalg.yield %8 : f32
    } -> tensor<256xf32>
    %2 = util.optimization_barrier %1 : tensor<256xf32>
    %3 = tensor.empty() : tensor<256xf32>
    %4:2 = iree_linalg_ext.scan {compilation_info = #compilation} dimension(0) inclusive(true) ins(%2 : tensor<256xf32>) outs(%3, %arg0 : tensor<256xf32>, tensor<f32>) {
    ^bb0(%arg1: f32, %arg2: f32):
      %5 = arith.addf %arg1, %arg2 : f32
      iree_linalg_ext.yield %5 : f32
    } -> tensor<256xf32>, tensor<f32>
    %extracted_slice = tensor.extract_slice %4#0[0] [4] [1] : tensor<256xf32> to tensor<4xf32>
    return %extracted_slice, %4#1 : tensor<4xf32>, tensor<f32>
  }
  func.func @scan_dim0_exclusive_sum_configured_vector_distribute(%arg0: tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<f32>) {
    %c1 = arith.constant 1 : index
    %0 = tensor.empty() : tensor<256xf32>
    %1 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel"]} outs(%0 : tensor<256xf32>) {
    ^bb0(%out: f32):
      %5 = linalg.index 0 : index
      %6 = arith.addi %5, %c1 : index
      %7 = arith.index_cast %6 : index to i32
      %8 = arith.sitofp %7 : i32 to f32
      linalg.yield %8 : f32
    } -> tensor<256xf32>
    %2 = util.optimization_barrier %1 : tensor<256xf32>
    %3 = tensor.empty() : tensor<256xf32>
    %4:2 = iree_linalg_ext.scan {compilation_info = #compilation1} dimension(0) inclusive(false) ins(%2 : tensor<256xf32>) outs(%3, %arg0 : tensor<256xf32>, tensor<f32>) {
    ^bb0(%arg1: f32, %arg2: f32):
      %5 = arith.addf %arg1, %arg2 : f32
      iree_linalg_ext.yield %5 : f32
    } -> tensor<256xf32>, tensor<f32>
    %extracted_slice = tensor.extract_slice %4#0[0] [4] [1] : tensor<256xf32> to tensor<4xf32>
    %extracted_slice_0 = tensor.extract_slice %4#0[14] [4] [1] : tensor<256xf32> to tensor<4xf32>
    return %extracted_slice, %extracted_slice_0, %4#1 : tensor<4xf32>, tensor<4xf32>, tensor<f32>
  }
  func.func @scan_dim1_inclusive_sum_large_configured_vector_distribute(%arg0: tensor<64xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2xf32>) {
    %c1 = arith.constant 1 : index
    %c1000 = arith.constant 1000 : index
    %0 = tensor.empty() : tensor<64x256xf32>
    %1 = linalg.generic {indexing_maps = [#map1], iterator_types = ["parallel", "parallel"]} outs(%0 : tensor<64x256xf32>) {
    ^bb0(%out: f32):
      %5 = linalg.index 0 : index
      %6 = linalg.index 1 : index
      %7 = arith.muli %5, %c1000 : index
      %8 = arith.addi %6, %c1 : index
      %9 = arith.addi %7, %8 : index
      %10 = arith.index_cast %9 : index to i32
      %11 = arith.sitofp %10 : i32 to f32
      linalg.yield %11 : f32
    } -> tensor<64x256xf32>
    %2 = util.optimization_barrier %1 : tensor<64x256xf32>
    %3 = tensor.empty() : tensor<64x256xf32>
    %4:2 = iree_linalg_ext.scan {compilation_info = #compilation2} dimension(1) inclusive(true) ins(%2 : tensor<64x256xf32>) outs(%3, %arg0 : tensor<64x256xf32>, tensor<64xf32>) {
    ^bb0(%arg1: f32, %arg2: f32):
      %5 = arith.addf %arg1, %arg2 : f32
      iree_linalg_ext.yield %5 : f32
    } -> tensor<64x256xf32>, tensor<64xf32>
    %extracted_slice = tensor.extract_slice %4#0[0, 0] [1, 4] [1, 1] : tensor<64x256xf32> to tensor<4xf32>
    %extracted_slice_0 = tensor.extract_slice %4#0[1, 0] [1, 4] [1, 1] : tensor<64x256xf32> to tensor<4xf32>
    %extracted_slice_1 = tensor.extract_slice %4#0[0, 14] [1, 4] [1, 1] : tensor<64x256xf32> to tensor<4xf32>
    %extracted_slice_2 = tensor.extract_slice %4#0[1, 14] [1, 4] [1, 1] : tensor<64x256xf32> to tensor<4xf32>
    %extracted_slice_3 = tensor.extract_slice %4#1[0] [2] [1] : tensor<64xf32> to tensor<2xf32>
    return %extracted_slice, %extracted_slice_0, %extracted_slice_1, %extracted_slice_2, %extracted_slice_3 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2xf32>
  }
  func.func @scan_dim0_inclusive_sum_cross_subgroup_configured_vector_distribute(%arg0: tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<f32>) {
    %c1 = arith.constant 1 : index
    %0 = tensor.empty() : tensor<128xf32>
    %1 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel"]} outs(%0 : tensor<128xf32>) {
    ^bb0(%out: f32):
      %5 = linalg.index 0 : index
      %6 = arith.addi %5, %c1 : index
      %7 = arith.index_cast %6 : index to i32
      %8 = arith.sitofp %7 : i32 to f32
      linalg.yield %8 : f32
    } -> tensor<128xf32>
    %2 = util.optimization_barrier %1 : tensor<128xf32>
    %3 = tensor.empty() : tensor<128xf32>
    %4:2 = iree_linalg_ext.scan {compilation_info = #compilation3} dimension(0) inclusive(true) ins(%2 : tensor<128xf32>) outs(%3, %arg0 : tensor<128xf32>, tensor<f32>) {
    ^bb0(%arg1: f32, %arg2: f32):
      %5 = arith.addf %arg1, %arg2 : f32
      iree_linalg_ext.yield %5 : f32
    } -> tensor<128xf32>, tensor<f32>
    %extracted_slice = tensor.extract_slice %4#0[0] [4] [1] : tensor<128xf32> to tensor<4xf32>
    %extracted_slice_0 = tensor.extract_slice %4#0[62] [4] [1] : tensor<128xf32> to tensor<4xf32>
    return %extracted_slice, %extracted_slice_0, %4#1 : tensor<4xf32>, tensor<4xf32>, tensor<f32>
  }
  func.func @scan_dim0_exclusive_sum_cross_subgroup_configured_vector_distribute(%arg0: tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<f32>) {
    %c1 = arith.constant 1 : index
    %0 = tensor.empty() : tensor<128xf32>
    %1 = linalg.generic {indexing_maps = [#map], iterator_types = ["parallel"]} outs(%0 : tensor<128xf32>) {
    ^bb0(%out: f32):
      %5 = linalg.index 0 : index
      %6 = arith.addi %5, %c1 : index
      %7 = arith.index_cast %6 : index to i32
      %8 = arith.sitofp %7 : i32 to f32
      linalg.yield %8 : f32
    } -> tensor<128xf32>
    %2 = util.optimization_barrier %1 : tensor<128xf32>
    %3 = tensor.empty() : tensor<128xf32>
    %4:2 = iree_linalg_ext.scan {compilation_info = #compilation3} dimension(0) inclusive(false) ins(%2 : tensor<128xf32>) outs(%3, %arg0 : tensor<128xf32>, tensor<f32>) {
    ^bb0(%arg1: f32, %arg2: f32):
      %5 = arith.addf %arg1, %arg2 : f32
      iree_linalg_ext.yield %5 : f32
    } -> tensor<128xf32>, tensor<f32>
    %extracted_slice = tensor.extract_slice %4#0[0] [4] [1] : tensor<128xf32> to tensor<4xf32>
    %extracted_slice_0 = tensor.extract_slice %4#0[62] [4] [1] : tensor<128xf32> to tensor<4xf32>
    return %extracted_slice, %extracted_slice_0, %4#1 : tensor<4xf32>, tensor<4xf32>, tensor<f32>
  }
}

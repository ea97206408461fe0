// Derived from IREE (tests/e2e/stablehlo_models/unidirectional_lstm.mlir at commit b48a5955575cf8924ffc191f3b0804976e5738b9, https://github.com/iree-org/iree).
// Copyright The IREE Authors. Licensed under the Apache License v2.0 with LLVM Exceptions.
// See https://llvm.org/LICENSE.txt for license information (and tests/iree/e2e/LICENSE).
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
// Converted by polyhal's scripts/iree_corpus.py: util.unfoldable_constant values are
// arguments and checked values are results; tests/iree/e2e/manifest.json says what to compare.

module {
  func.func private @ForwardLoopCond_gFAnjWGSoLs__.167(%arg0: tensor<i64>, %arg1: tensor<i64>, %arg2: tensor<40xf32>, %arg3: tensor<i64>, %arg4: tensor<74x40xf32>, %arg5: tensor<i64>, %arg6: tensor<1x10xf32>, %arg7: tensor<1x10xf32>, %arg8: tensor<5x1x64xf32>, %arg9: tensor<5x1x1xf32>, %arg10: tensor<5x1x1xf32>, %arg11: tensor<5xi64>, %arg12: tensor<5x1x10xf32>, %arg13: tensor<5x1x10xf32>) -> tensor<i1> {
    %0 = stablehlo.compare LT, %arg0, %arg1 : (tensor<i64>, tensor<i64>) -> tensor<i1>
    return %0 : tensor<i1>
  }
  func.func private @Forward_o16DF3vQKaI__disable_call_shape_inference_true_.189(%arg0: tensor<1x10xf32>, %arg1: tensor<1x10xf32>, %arg2: tensor<5x1x64xf32>, %arg3: tensor<5x1x1xf32>, %arg4: tensor<5x1x1xf32>) -> (tensor<i64>, tensor<5xi64>, tensor<5x1x10xf32>, tensor<5x1x10xf32>, tensor<i64>, tensor<1x10xf32>, tensor<1x10xf32>) {
    %cst = arith.constant dense<0x7F800000> : tensor<f32>
    %cst_0 = stablehlo.constant dense<0.000000e+00> : tensor<5xf32>
    %cst_1 = arith.constant dense<[1, 2, 3, 4, 5]> : tensor<5xi32>
    %cst_2 = arith.constant dense<-2147483648> : tensor<i32>
    %cst_3 = arith.constant dense<5> : tensor<i32>
    %cst_4 = stablehlo.constant dense<0.000000e+00> : tensor<40xf32>
    %cst_5 = arith.constant dense<4.200000e-01> : tensor<74x40xf32>
    %cst_6 = arith.constant dense<0> : tensor<i64>
    %c = stablehlo.constant dense<0> : tensor<5xi64>
    %cst_7 = stablehlo.constant dense<0.000000e+00> : tensor<5x1x10xf32>
    %cst_8 = arith.constant dense<1> : tensor<i64>
    %cst_9 = stablehlo.constant dense<1.000000e+01> : tensor<1x10xf32>
    %cst_10 = stablehlo.constant dense<-1.000000e+01> : tensor<1x10xf32>
    %cst_11 = stablehlo.constant dense<1.000000e+00> : tensor<1x10xf32>
    %cst_12 = stablehlo.constant dense<0.000000e+00> : tensor<1x10xf32>
    %cst_13 = stablehlo.constant dense<5.000000e-01> : tensor<1x10xf32>
    %cst_14 = arith.constant dense<0> : tensor<i32>
    %0 = stablehlo.reduce(%arg3 init: %cst) applies stablehlo.minimum across dimensions = [1, 2] : (tensor<5x1x1xf32>, tensor<f32>) -> tensor<5xf32>
    %1 = stablehlo.compare EQ, %0, %cst_0 : (tensor<5xf32>, tensor<5xf32>) -> tensor<5xi1>
    %2 = stablehlo.convert %1 : (tensor<5xi1>) -> tensor<5xi32>
    %3 = stablehlo.multiply %2, %cst_1 : tensor<5xi32>
    %4 = stablehlo.reduce(%3 init: %cst_2) applies stablehlo.maximum across dimensions = [0] : (tensor<5xi32>, tensor<i32>) -> tensor<i32>
    %5 = stablehlo.subtract %cst_3, %4 : tensor<i32>
    %6 = stablehlo.compare EQ, %5, %cst_3 : (tensor<i32>, tensor<i32>) -> tensor<i1>
    %7 = stablehlo.reverse %0, dims = [0] : tensor<5xf32>
    %8 = stablehlo.compare EQ, %7, %cst_0 : (tensor<5xf32>, tensor<5xf32>) -> tensor<5xi1>
    %9 = stablehlo.convert %8 : (tensor<5xi1>) -> tensor<5xi32>
    %10 = stablehlo.multiply %9, %cst_1 : tensor<5xi32>
    %11 = stablehlo.reduce(%10 init: %cst_2) applies stablehlo.maximum across dimensions = [0] : (tensor<5xi32>, tensor<i32>) -> tensor<i32>
    %12 = stablehlo.subtract %cst_3, %11 : tensor<i32>
    %13 = stablehlo.select %6, %cst_14, %12 : tensor<i1>, tensor<i32>
    %14 = stablehlo.convert %13 : (tensor<i32>) -> tensor<i64>
    %15 = stablehlo.subtract %cst_3, %5 : tensor<i32>
    %16 = stablehlo.convert %15 : (tensor<i32>) -> tensor<i64>
    cf.br ^bb1(%14, %16, %cst_4, %cst_6, %cst_5, %cst_6, %arg0, %arg1, %arg2, %arg3, %arg4, %c, %cst_7, %cst_7 : tensor<i64>, tensor<i64>, tensor<40xf32>, tensor<i64>, tensor<74x40xf32>, tensor<i64>, tensor<1x10xf32>, tensor<1x10xf32>, tensor<5x1x64xf32>, tensor<5x1x1xf32>, tensor<5x1x1xf32>, tensor<5xi64>, tensor<5x1x10xf32>, tensor<5x1x10xf32>)
  ^bb1(%17: tensor<i64>, %18: tensor<i64>, %19: tensor<40xf32>, %20: tensor<i64>, %21: tensor<74x40xf32>, %22: tensor<i64>, %23: tensor<1x10xf32>, %24: tensor<1x10xf32>, %25: tensor<5x1x64xf32>, %26: tensor<5x1x1xf32>, %27: tensor<5x1x1xf32>, %28: tensor<5xi64>, %29: tensor<5x1x10xf32>, %30: tensor<5x1x10xf32>):  // 2 preds: ^bb0, ^bb2
    %31 = call @ForwardLoopCond_gFAnjWGSoLs__.167(%17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30) : (tensor<i64>, tensor<i64>, tensor<40xf32>, tensor<i64>, tensor<74x40xf32>, tensor<i64>, tensor<1x10xf32>, tensor<1x10xf32>, tensor<5x1x64xf32>, tensor<5x1x1xf32>, tensor<5x1x1xf32>, tensor<5xi64>, tensor<5x1x10xf32>, tensor<5x1x10xf32>) -> tensor<i1>
    %extracted = tensor.extract %31[] : tensor<i1>
    cf.cond_br %extracted, ^bb2(%17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30 : tensor<i64>, tensor<i64>, tensor<40xf32>, tensor<i64>, tensor<74x40xf32>, tensor<i64>, tensor<1x10xf32>, tensor<1x10xf32>, tensor<5x1x64xf32>, tensor<5x1x1xf32>, tensor<5x1x1xf32>, tensor<5xi64>, tensor<5x1x10xf32>, tensor<5x1x10xf32>), ^bb3(%17, %22, %23, %24, %28, %29, %30 : tensor<i64>, tensor<i64>, tensor<1x10xf32>, tensor<1x10xf32>, tensor<5xi64>, tensor<5x1x10xf32>, tensor<5x1x10xf32>)
  ^bb2(%32: tensor<i64>, %33: tensor<i64>, %34: tensor<40xf32>, %35: tensor<i64>, %36: tensor<74x40xf32>, %37: tensor<i64>, %38: tensor<1x10xf32>, %39: tensor<1x10xf32>, %40: tensor<5x1x64xf32>, %41: tensor<5x1x1xf32>, %42: tensor<5x1x1xf32>, %43: tensor<5xi64>, %44: tensor<5x1x10xf32>, %45: tensor<5x1x10xf32>):  // pred: ^bb1
    %46 = stablehlo.add %32, %cst_8 : tensor<i64>
    %47 = "stablehlo.gather"(%41, %32) <{dimension_numbers = #stablehlo.gather<offset_dims = [0, 1], collapsed_slice_dims = [0], start_index_map = [0]>, slice_sizes = array<i64: 1, 1, 1>}> : (tensor<5x1x1xf32>, tensor<i64>) -> tensor<1x1xf32>
    %48 = stablehlo.reshape %47 : (tensor<1x1xf32>) -> tensor<1xf32>
    %49 = stablehlo.broadcast_in_dim %48, dims = [0] : (tensor<1xf32>) -> tensor<1x10xf32>
    %50 = stablehlo.compare GT, %49, %cst_12 : (tensor<1x10xf32>, tensor<1x10xf32>) -> tensor<1x10xi1>
    %51 = "stablehlo.gather"(%40, %32) <{dimension_numbers = #stablehlo.gather<offset_dims = [0, 1], collapsed_slice_dims = [0], start_index_map = [0]>, slice_sizes = array<i64: 1, 1, 64>}> : (tensor<5x1x64xf32>, tensor<i64>) -> tensor<1x64xf32>
    %52 = stablehlo.concatenate %51, %39, dim = 1 : (tensor<1x64xf32>, tensor<1x10xf32>) -> tensor<1x74xf32>
    %53 = stablehlo.dot %52, %36, precision = [DEFAULT] : (tensor<1x74xf32>, tensor<74x40xf32>) -> tensor<1x40xf32>
    %54 = stablehlo.reshape %34 : (tensor<40xf32>) -> tensor<1x40xf32>
    %55 = stablehlo.add %53, %54 : tensor<1x40xf32>
    %56 = stablehlo.slice %55 [0:1, 20:30] : (tensor<1x40xf32>) -> tensor<1x10xf32>
    %57 = stablehlo.multiply %56, %cst_13 : tensor<1x10xf32>
    %58 = stablehlo.tanh %57 : tensor<1x10xf32>
    %59 = stablehlo.multiply %58, %cst_13 : tensor<1x10xf32>
    %60 = stablehlo.add %59, %cst_13 : tensor<1x10xf32>
    %61 = stablehlo.multiply %60, %38 : tensor<1x10xf32>
    %62 = stablehlo.slice %55 [0:1, 10:20] : (tensor<1x40xf32>) -> tensor<1x10xf32>
    %63 = stablehlo.multiply %62, %cst_13 : tensor<1x10xf32>
    %64 = stablehlo.tanh %63 : tensor<1x10xf32>
    %65 = stablehlo.multiply %64, %cst_13 : tensor<1x10xf32>
    %66 = stablehlo.add %65, %cst_13 : tensor<1x10xf32>
    %67 = stablehlo.slice %55 [0:1, 0:10] : (tensor<1x40xf32>) -> tensor<1x10xf32>
    %68 = stablehlo.tanh %67 : tensor<1x10xf32>
    %69 = stablehlo.multiply %66, %68 : tensor<1x10xf32>
    %70 = stablehlo.add %61, %69 : tensor<1x10xf32>
    %71 = stablehlo.minimum %70, %cst_9 : tensor<1x10xf32>
    %72 = stablehlo.maximum %71, %cst_10 : tensor<1x10xf32>
    %73 = stablehlo.select %50, %38, %72 : tensor<1x10xi1>, tensor<1x10xf32>
    %74 = stablehlo.reshape %47 : (tensor<1x1xf32>) -> tensor<1xf32>
    %75 = stablehlo.broadcast_in_dim %74, dims = [0] : (tensor<1xf32>) -> tensor<1x10xf32>
    %76 = stablehlo.compare GT, %75, %cst_12 : (tensor<1x10xf32>, tensor<1x10xf32>) -> tensor<1x10xi1>
    %77 = stablehlo.slice %55 [0:1, 30:40] : (tensor<1x40xf32>) -> tensor<1x10xf32>
    %78 = stablehlo.multiply %77, %cst_13 : tensor<1x10xf32>
    %79 = stablehlo.tanh %78 : tensor<1x10xf32>
    %80 = stablehlo.multiply %79, %cst_13 : tensor<1x10xf32>
    %81 = stablehlo.add %80, %cst_13 : tensor<1x10xf32>
    %82 = stablehlo.tanh %72 : tensor<1x10xf32>
    %83 = stablehlo.multiply %81, %82 : tensor<1x10xf32>
    %84 = stablehlo.select %76, %39, %83 : tensor<1x10xi1>, tensor<1x10xf32>
    %85 = stablehlo.reshape %37 : (tensor<i64>) -> tensor<1xi64>
    %86 = stablehlo.reshape %32 : (tensor<i64>) -> tensor<1xi64>
    %87 = stablehlo.convert %86 : (tensor<1xi64>) -> tensor<1xi32>
    %88 = stablehlo.reshape %87 : (tensor<1xi32>) -> tensor<i32>
    %89 = stablehlo.dynamic_update_slice %43, %85, %88 : (tensor<5xi64>, tensor<1xi64>, tensor<i32>) -> tensor<5xi64>
    %90 = stablehlo.reshape %73 : (tensor<1x10xf32>) -> tensor<1x1x10xf32>
    %91 = stablehlo.reshape %87 : (tensor<1xi32>) -> tensor<i32>
    %92 = stablehlo.dynamic_update_slice %44, %90, %91, %cst_14, %cst_14 : (tensor<5x1x10xf32>, tensor<1x1x10xf32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<5x1x10xf32>
    %93 = stablehlo.reshape %84 : (tensor<1x10xf32>) -> tensor<1x1x10xf32>
    %94 = stablehlo.reshape %87 : (tensor<1xi32>) -> tensor<i32>
    %95 = stablehlo.dynamic_update_slice %45, %93, %94, %cst_14, %cst_14 : (tensor<5x1x10xf32>, tensor<1x1x10xf32>, tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<5x1x10xf32>
    cf.br ^bb1(%46, %33, %34, %35, %36, %37, %73, %84, %40, %41, %42, %89, %92, %95 : tensor<i64>, tensor<i64>, tensor<40xf32>, tensor<i64>, tensor<74x40xf32>, tensor<i64>, tensor<1x10xf32>, tensor<1x10xf32>, tensor<5x1x64xf32>, tensor<5x1x1xf32>, tensor<5x1x1xf32>, tensor<5xi64>, tensor<5x1x10xf32>, tensor<5x1x10xf32>)
  ^bb3(%96: tensor<i64>, %97: tensor<i64>, %98: tensor<1x10xf32>, %99: tensor<1x10xf32>, %100: tensor<5xi64>, %101: tensor<5x1x10xf32>, %102: tensor<5x1x10xf32>):  // pred: ^bb1
    return %96, %100, %101, %102, %97, %98, %99 : tensor<i64>, tensor<5xi64>, tensor<5x1x10xf32>, tensor<5x1x10xf32>, tensor<i64>, tensor<1x10xf32>, tensor<1x10xf32>
  }
  func.func @main(%arg0: tensor<1x5xf32>, %arg1: tensor<1x5x2x2xf32>) -> tensor<5x1x10xf32> {
    %cst = stablehlo.constant dense<0.000000e+00> : tensor<1x10xf32>
    %cst_0 = arith.constant dense<0.000000e+00> : tensor<f32>
    %cst_1 = stablehlo.constant dense<0.000000e+00> : tensor<5x1x1xf32>
    %0 = stablehlo.reshape %arg1 : (tensor<1x5x2x2xf32>) -> tensor<1x5x4xf32>
    %1 = stablehlo.pad %0, %cst_0, low = [0, 0, 0], high = [0, 0, 60], interior = [0, 0, 0] : (tensor<1x5x4xf32>, tensor<f32>) -> tensor<1x5x64xf32>
    %2 = stablehlo.transpose %1, dims = [1, 0, 2] : (tensor<1x5x64xf32>) -> tensor<5x1x64xf32>
    %3 = stablehlo.transpose %arg0, dims = [1, 0] : (tensor<1x5xf32>) -> tensor<5x1xf32>
    %4 = stablehlo.reshape %3 : (tensor<5x1xf32>) -> tensor<5x1x1xf32>
    %5:7 = call @Forward_o16DF3vQKaI__disable_call_shape_inference_true_.189(%cst, %cst, %2, %4, %cst_1) : (tensor<1x10xf32>, tensor<1x10xf32>, tensor<5x1x64xf32>, tensor<5x1x1xf32>, tensor<5x1x1xf32>) -> (tensor<i64>, tensor<5xi64>, tensor<5x1x10xf32>, tensor<5x1x10xf32>, tensor<i64>, tensor<1x10xf32>, tensor<1x10xf32>)
    return %5#3 : tensor<5x1x10xf32>
  }
}

// A hand-written host program (IREE's vm dialect, as iree-compile --output-format=vm-asm
// prints it) for test_iree_reading.py: kernel_a is launched with two different counts,
// kernel_b with a count and a push constant known only at run time, kernel_c indirectly.
vm.module public @module {
  vm.rodata private @name_a <alignment = 1> "kernel_a"
  vm.rodata private @name_b <alignment = 1> "kernel_b"
  vm.rodata private @name_c <alignment = 1> "kernel_c"
  vm.import private @hal.executable.lookup.function(%executable : !vm.ref<!hal.executable>, %function_name : !vm.buffer) -> i64 attributes {nosideeffects, minimum_version = 7 : i32}
  vm.import private @hal.command_buffer.dispatch(%command_buffer : !vm.ref<!hal.command_buffer>, %executable : !vm.ref<!hal.executable>, %function_id : i64, %workgroup_x : i32, %workgroup_y : i32, %workgroup_z : i32, %flags : i64, %constants : i32 ..., %bindings : tuple<i32, i32, !vm.ref<!hal.buffer>, i64, i64> ...) attributes {minimum_version = 7 : i32}
  vm.import private @hal.command_buffer.dispatch.indirect(%command_buffer : !vm.ref<!hal.command_buffer>, %executable : !vm.ref<!hal.executable>, %function_id : i64, %workgroups_buffer_slot : i32, %workgroups_buffer : !vm.ref<!hal.buffer>, %workgroups_offset : i64, %flags : i64, %constants : i32 ..., %bindings : tuple<i32, i32, !vm.ref<!hal.buffer>, i64, i64> ...) attributes {minimum_version = 7 : i32}
  vm.func private @f(%cb : !vm.ref<!hal.command_buffer>, %exe : !vm.ref<!hal.executable>, %n : i32) {
    %c1 = vm.const.i32 1
    %c4 = vm.const.i32 4
    %c7 = vm.const.i32 7
    %zero = vm.const.i32.zero
    %z = vm.const.i64.zero
    %null = vm.const.ref.zero : !vm.ref<!hal.buffer>
    %a = vm.const.ref.rodata @name_a : !vm.buffer
    %fa = vm.call @hal.executable.lookup.function(%exe, %a) {nosideeffects} : (!vm.ref<!hal.executable>, !vm.buffer) -> i64
    %b = vm.const.ref.rodata @name_b : !vm.buffer
    %fb = vm.call @hal.executable.lookup.function(%exe, %b) {nosideeffects} : (!vm.ref<!hal.executable>, !vm.buffer) -> i64
    %c = vm.const.ref.rodata @name_c : !vm.buffer
    %fc = vm.call @hal.executable.lookup.function(%exe, %c) {nosideeffects} : (!vm.ref<!hal.executable>, !vm.buffer) -> i64
    vm.call.variadic @hal.command_buffer.dispatch(%cb, %exe, %fa, %c4, %c1, %zero, %z, [%c7, %c1], [(%zero, %zero, %null, %z, %z)]) : (!vm.ref<!hal.command_buffer>, !vm.ref<!hal.executable>, i64, i32, i32, i32, i64, i32 ..., tuple<i32, i32, !vm.ref<!hal.buffer>, i64, i64> ...)
    vm.call.variadic @hal.command_buffer.dispatch(%cb, %exe, %fb, %n, %c1, %c1, %z, [%n], []) : (!vm.ref<!hal.command_buffer>, !vm.ref<!hal.executable>, i64, i32, i32, i32, i64, i32 ..., tuple<i32, i32, !vm.ref<!hal.buffer>, i64, i64> ...)
    vm.call.variadic @hal.command_buffer.dispatch.indirect(%cb, %exe, %fc, %zero, %null, %z, %z, [], []) : (!vm.ref<!hal.command_buffer>, !vm.ref<!hal.executable>, i64, i32, !vm.ref<!hal.buffer>, i64, i64, i32 ..., tuple<i32, i32, !vm.ref<!hal.buffer>, i64, i64> ...)
    vm.call.variadic @hal.command_buffer.dispatch(%cb, %exe, %fa, %c7, %c1, %c1, %z, [%c7, %c1], []) : (!vm.ref<!hal.command_buffer>, !vm.ref<!hal.executable>, i64, i32, i32, i32, i64, i32 ..., tuple<i32, i32, !vm.ref<!hal.buffer>, i64, i64> ...)
    vm.return
  }
}

#version 450
// double_values: output[i] = 2 * input[i] (int32).
layout(local_size_x = 1, local_size_y = 1, local_size_z = 1) in;
layout(set = 0, binding = 0) readonly buffer Input { int input_values[]; };
layout(set = 0, binding = 1) buffer Output { int output_values[]; };

void main() {
  uint i = gl_GlobalInvocationID.x;
  output_values[i] = input_values[i] * 2;
}

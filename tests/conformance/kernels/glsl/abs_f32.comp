#version 450
// abs_f32: output[i] = |input[i]| for workgroup i.
layout(local_size_x = 1, local_size_y = 1, local_size_z = 1) in;
layout(set = 0, binding = 0) readonly buffer Input { float input_values[]; };
layout(set = 0, binding = 1) buffer Output { float output_values[]; };

void main() {
  uint i = gl_GlobalInvocationID.x;
  output_values[i] = abs(input_values[i]);
}

#version 450
// scale_and_offset: output[i] = input[i] * scale + offset (int32).
layout(local_size_x = 1, local_size_y = 1, local_size_z = 1) in;
layout(set = 0, binding = 0) readonly buffer Input { int input_values[]; };
layout(set = 0, binding = 1) buffer Output { int output_values[]; };
layout(push_constant) uniform Constants { int scale; int offset; };

void main() {
  uint i = gl_GlobalInvocationID.x;
  output_values[i] = input_values[i] * scale + offset;
}

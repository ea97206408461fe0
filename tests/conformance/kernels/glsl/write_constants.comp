#version 450
// write_constants: output[0..4) = the four push constants, verbatim.
layout(local_size_x = 1, local_size_y = 1, local_size_z = 1) in;
layout(set = 0, binding = 0) buffer Output { uint output_values[]; };
layout(push_constant) uniform Constants { uint c0; uint c1; uint c2; uint c3; };

void main() {
  output_values[0] = c0;
  output_values[1] = c1;
  output_values[2] = c2;
  output_values[3] = c3;
}

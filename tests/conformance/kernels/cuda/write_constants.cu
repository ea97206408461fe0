// write_constants: output[0..4) = the four push constants, verbatim.
extern "C" __global__ void write_constants(unsigned int* output, unsigned int c0,
                                           unsigned int c1, unsigned int c2,
                                           unsigned int c3) {
  output[0] = c0;
  output[1] = c1;
  output[2] = c2;
  output[3] = c3;
}

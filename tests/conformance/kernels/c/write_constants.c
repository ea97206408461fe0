/* write_constants: output[0..4) = the four push constants, verbatim. */
POLYHAL_ENTRY(write_constants) {
  (void)environment;
  EXPECT(dispatch->binding_count == 1, 1);
  EXPECT(dispatch->push_constant_count == 4, 2);
  EXPECT(BINDING_HOLDS(0, 4 * sizeof(uint32_t)), 3);
  uint32_t* output = (uint32_t*)dispatch->binding_ptrs[0];
  (void)workgroup;
  for (int i = 0; i < 4; ++i) output[i] = dispatch->push_constants[i];
  return 0;
}

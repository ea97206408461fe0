/* scale_and_offset: output[i] = input[i] * scale + offset (int32), constants (scale, offset). */
POLYHAL_ENTRY(scale_and_offset) {
  (void)environment;
  uint32_t i = workgroup->workgroup_id_x;
  EXPECT(dispatch->binding_count == 2, 1);
  EXPECT(dispatch->push_constant_count == 2, 2);
  EXPECT(BINDING_HOLDS(0, (i + 1) * sizeof(int32_t)), 3);
  EXPECT(BINDING_HOLDS(1, (i + 1) * sizeof(int32_t)), 4);
  const int32_t* input = (const int32_t*)dispatch->binding_ptrs[0];
  int32_t* output = (int32_t*)dispatch->binding_ptrs[1];
  int32_t scale = (int32_t)dispatch->push_constants[0];
  int32_t offset = (int32_t)dispatch->push_constants[1];
  output[i] = input[i] * scale + offset;
  return 0;
}

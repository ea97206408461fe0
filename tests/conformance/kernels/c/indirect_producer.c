/* write_indirect_counts: writes the workgroup count (4, 1, 1) for a later indirect dispatch. */
POLYHAL_ENTRY(write_indirect_counts) {
  (void)environment;
  (void)workgroup;
  EXPECT(dispatch->binding_count == 1, 1);
  EXPECT(BINDING_HOLDS(0, 3 * sizeof(uint32_t)), 2);
  uint32_t* counts = (uint32_t*)dispatch->binding_ptrs[0];
  counts[0] = 4;
  counts[1] = 1;
  counts[2] = 1;
  return 0;
}

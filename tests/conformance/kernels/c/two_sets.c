/* copy_across_sets: set 1 binding 0 [i] = set 0 binding 0 [i] (uint32), one element per
 * workgroup. binding_ptrs[0] is set 0's binding, binding_ptrs[1] set 1's. */
POLYHAL_ENTRY(copy_across_sets) {
  (void)environment;
  uint32_t i = workgroup->workgroup_id_x;
  EXPECT(dispatch->binding_count == 2, 1);
  EXPECT(BINDING_HOLDS(0, (i + 1) * sizeof(uint32_t)), 2);
  EXPECT(BINDING_HOLDS(1, (i + 1) * sizeof(uint32_t)), 3);
  ((uint32_t*)dispatch->binding_ptrs[1])[i] = ((const uint32_t*)dispatch->binding_ptrs[0])[i];
  return 0;
}

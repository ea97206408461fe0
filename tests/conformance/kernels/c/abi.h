/* IREE executable-library ABI (version 0.x) as polyhal's local driver calls it.
 * Declared here rather than included so the kernels pin the documented field order
 * and widths (DESIGN.md, "Kernels on the local driver"). */
#include <stddef.h>
#include <stdint.h>

typedef struct dispatch_state_t {
  uint32_t workgroup_size_x;
  uint32_t workgroup_size_y;
  uint16_t workgroup_size_z;
  uint16_t push_constant_count;
  uint32_t workgroup_count_x;
  uint32_t workgroup_count_y;
  uint16_t workgroup_count_z;
  uint8_t max_concurrency;
  uint8_t binding_count;
  const uint32_t* push_constants;
  void* const* binding_ptrs;
  const size_t* binding_lengths;
} dispatch_state_t;

typedef struct workgroup_state_t {
  uint32_t workgroup_id_x;
  uint32_t workgroup_id_y;
  uint16_t workgroup_id_z;
  uint16_t reserved;
  uint32_t processor_id;
  void* local_memory;
  uint32_t local_memory_size;
} workgroup_state_t;

#define KERNEL(name)                                                          \
  __attribute__((visibility("default"))) int name(                            \
      const void* environment, const dispatch_state_t* dispatch,              \
      const workgroup_state_t* workgroup)

/* Every kernel checks what the ABI hands it, so a wrong binding count, push constant
 * count or binding length fails the submission instead of corrupting memory. */
#define EXPECT(cond, code) \
  do {                     \
    if (!(cond)) return code; \
  } while (0)

#define BINDING_HOLDS(i, bytes) (dispatch->binding_lengths[i] >= (size_t)(bytes))

/* What every conformance kernel shares.  The ABI itself is polyhal.h's (the header the
 * package ships, on the include path of format "c"): its one definition, which the
 * executor is built against too. */
#include "polyhal.h"

/* Every kernel checks what the ABI hands it, so a wrong binding count, push constant
 * count or binding length fails the submission instead of corrupting memory. */
#define EXPECT(cond, code) \
  do {                     \
    if (!(cond)) return code; \
  } while (0)

#define BINDING_HOLDS(i, bytes) (dispatch->binding_lengths[i] >= (size_t)(bytes))

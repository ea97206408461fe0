/* polyhal local executor: runs an encoded command list on the CPU.
 *
 * It runs the front end's command stream (polyhal/native/stream.h: ph_cmd_t records,
 * binding refs, push constants, update payloads) in place, with no Python in the loop.
 * Consecutive dispatches form a *region* (they may run concurrently, as the HAL allows
 * between barriers); any other command ends the region, so barriers, events, fills and
 * copies are joins.  A region's workgroups are handed out from one atomic ticket to the
 * calling thread and the pool's workers; a one-workgroup region runs on the caller alone,
 * which is what makes a chain of small dispatches cost well under a microsecond each, and
 * so does a region that earlier runs of its kernels show to be short (see run_region).
 *
 * How many workgroups a thread takes per ticket adapts to what they cost: a thread's first
 * take in a dispatch is one workgroup, timed, and later takes reserve about
 * PH_CHUNK_TARGET_NS of work, never more than 1/(2 * threads) of what is left of the region
 * and never past the end of the dispatch.  Cheap workgroups thus cost one atomic per many,
 * and expensive ones end the region within about one workgroup of each other: a fixed
 * chunk (total / (8 * threads)) left one thread idle for up to a whole chunk at the end,
 * ~2 ms of a 1024^3 matmul's 256 workgroups, and a thread preempted while holding a big
 * chunk stalled the region for as long.  When the caller runs out of workgroups it spins
 * about as long as the chunks still running should take and then sleeps until the last one
 * completes, so that on a busy machine it does not hold a core that a preempted worker
 * needs to finish the region.
 *
 * The ticket carries the job's generation in its high bits, so a worker that wakes late
 * can never take a workgroup of a job that has already moved on.
 *
 * Checked mode (PH_EXEC_CHECKED) runs every kernel call and transfer under a fault guard:
 * a SIGSEGV/SIGBUS (or a SIGFPE/SIGILL: integer division by zero, a trap) raised while a
 * thread is inside one jumps back to the executor, which fails the command with
 * PH_ERROR_FAULT and the faulting address, instead of letting the process die.  Unchecked
 * execution never touches the guard (separate loop instances), so it costs nothing there.  What it cannot undo: a kernel that faults while holding a lock
 * of a library it calls (malloc's, say) leaves that lock held; recovery is for faults in
 * a kernel's own computation, which is where out-of-bounds accesses happen.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__linux__)
#include <ucontext.h> /* the fault's access kind; macOS has it only as a deprecated API */
#endif

#define PH_MAX_BINDINGS 64
#define PH_MAX_REGION 256
#define PH_MAX_INDIRECT_WORKGROUPS (UINT64_C(1) << 32)
#define PH_ERROR_INDIRECT_COUNT INT32_MIN  /* result code: counts out of range */
#define PH_ERROR_FAULT (INT32_MIN + 1)     /* result code: a fault signal in checked mode */
#define PH_EXEC_SERIAL 1
#define PH_EXEC_CHECKED 2
#define PH_ALTSTACK_SIZE (64 * 1024)
#define PH_GEN_SHIFT 40
#define PH_CHUNK_TARGET_NS 100000 /* work one ticket reserves, once a workgroup was timed */
#define PH_ALONE_NS 20000   /* a region expected to take less runs on the caller alone */
#define PH_WAKE_NS 100000   /* sleeping workers are woken for at least this much work */
#define PH_COST_SLOTS 64    /* kernels whose cost per workgroup the pool remembers */
#define PH_INDEX_MASK ((UINT64_C(1) << PH_GEN_SHIFT) - 1)

/* The records are the front end's command stream (polyhal/native/stream.h), read in
 * place: dispatch records carry the kernel's function and environment pointers in fn and
 * env, and direct references the allocation's address in base. */
#include "stream.h"

enum { PH_DISPATCH = PH_OP_DISPATCH, PH_FILL = PH_OP_FILL, PH_COPY = PH_OP_COPY,
       PH_UPDATE = PH_OP_UPDATE };

typedef struct {
  int64_t failed_command;  /* index of the command that failed, -1 if none */
  int32_t code;            /* what the kernel returned */
  uint32_t workgroup[3];
  uint64_t fault_address;  /* PH_ERROR_FAULT: the address that faulted */
  int32_t fault_signal;    /* PH_ERROR_FAULT: SIGSEGV, SIGBUS, SIGFPE or SIGILL */
  int32_t fault_access;    /* PH_ERROR_FAULT: 1 read, 2 write, 0 unknown */
} ph_result_t;

typedef struct ph_prepared ph_prepared_t;  /* defined below: a guard points at one */

/* Where a guarded call jumps back to, what it was running and what the handler saw. */
typedef struct {
  sigjmp_buf jump;
  const ph_prepared_t* dispatch;  /* the dispatch and workgroup being called */
  uint64_t flat;
  uint64_t address;
  int32_t signal, access;
} ph_guard_t;

/* The kernel ABI (IREE executable library v0): polyhal.h, the header kernels include, is
 * its one definition. */
#include "polyhal.h"

typedef int (*ph_fn_t)(const polyhal_env_t*, const polyhal_dispatch_state_t*,
                       const polyhal_workgroup_state_t*);

struct ph_prepared {
  polyhal_dispatch_state_t state;
  void* ptrs[PH_MAX_BINDINGS];
  size_t lens[PH_MAX_BINDINGS];
  ph_fn_t fn;
  const void* env;
  uint64_t first;  /* flat index of its first workgroup in the region */
  uint64_t total;
  uint32_t local_memory_size;
  int64_t command;
  uint32_t bad_count[3];  /* the indirect counts prepare() refused */
};

/* A zeroed environment for kernels that read one (IREE libraries get their own). */
static const uint64_t ph_default_env[64];

/* What one workgroup of a kernel took when it last ran (ns; 0: unknown).  Threads write it
 * racily, hence atomics; a stale or overwritten entry only makes an estimate wrong. */
typedef struct {
  _Atomic uintptr_t fn;
  _Atomic uint64_t ns;
} ph_cost_t;

typedef struct ph_pool {
  int nworkers;
  pthread_t* threads;
  pthread_mutex_t mu;   /* guards sleeping */
  pthread_cond_t cv;
  pthread_mutex_t job_mu;  /* one region at a time uses the workers */
  _Atomic uint64_t generation;
  _Atomic uint64_t ticket;  /* generation << 40 | next workgroup */
  _Atomic uint64_t completed;
  _Atomic int error;
  _Atomic int shutdown;
  _Atomic int sleepers;   /* workers asleep on cv (or about to be) */
  _Atomic int wake_later; /* the caller wakes them once the region proves long enough */
  ph_cost_t costs[PH_COST_SLOTS];
  long spin_ns;
  int checked;  /* workers run the region's kernels under the fault guard */
  pthread_mutex_t done_mu;  /* the caller sleeps on done_cv until the region completes */
  pthread_cond_t done_cv;
  _Atomic int caller_sleeping;
  /* the current job (written by the owner before publishing the generation) */
  ph_prepared_t* region;
  int region_count;
  uint64_t total;
  ph_result_t result;
} ph_pool_t;

static __thread void* tls_local_memory;
static __thread uint32_t tls_local_memory_size;

/* The guard of the call this thread is inside (checked mode), else NULL.  initial-exec:
 * the signal handler reads it, and a dynamic TLS access there could call malloc. */
static __thread ph_guard_t* tls_guard __attribute__((tls_model("initial-exec")));
static __thread int tls_altstack __attribute__((tls_model("initial-exec")));

/* The signals a kernel's own computation raises; the previous action of each. */
static const int ph_fault_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
#define PH_FAULT_SIGNALS (int)(sizeof(ph_fault_signals) / sizeof(ph_fault_signals[0]))
static struct sigaction ph_previous[PH_FAULT_SIGNALS];
static pthread_once_t ph_handler_once = PTHREAD_ONCE_INIT;
static pthread_key_t ph_altstack_key;

static int fault_access(void* context) {
#if defined(__x86_64__) && defined(REG_ERR)
  /* Bit 1 of the page-fault error code: the access was a write. */
  return (((ucontext_t*)context)->uc_mcontext.gregs[REG_ERR] & 2) ? 2 : 1;
#else
  (void)context;
  return 0;
#endif
}

/* A fault inside a guarded call returns to that call's sigsetjmp; anything else is passed
 * on to whoever handled the signal before us (Python's faulthandler, say), or gets the
 * default action: the process dies as it would have without polyhal.  A handler installed
 * after ours that re-raises the signal (faulthandler does, after its dump) still lands
 * here, with no address (si_code <= 0: sent, not raised by the hardware). */
static void on_fault(int sig, siginfo_t* info, void* context) {
  ph_guard_t* guard = tls_guard;
  if (guard) {
    int hardware = info->si_code > 0;
    tls_guard = NULL;
    /* SIGFPE/SIGILL carry the instruction's address, not a data address. */
    int data = hardware && (sig == SIGSEGV || sig == SIGBUS);
    guard->address = data ? (uint64_t)(uintptr_t)info->si_addr : 0;
    guard->signal = sig;
    guard->access = data ? fault_access(context) : 0;
    siglongjmp(guard->jump, 1);
  }
  const struct sigaction* previous = &ph_previous[0];
  for (int i = 0; i < PH_FAULT_SIGNALS; ++i)
    if (ph_fault_signals[i] == sig) previous = &ph_previous[i];
  if (previous->sa_flags & SA_SIGINFO) {
    previous->sa_sigaction(sig, info, context);
    return;
  }
  if (previous->sa_handler != SIG_DFL && previous->sa_handler != SIG_IGN) {
    previous->sa_handler(sig);
    return;
  }
  /* Default action: restore it; a hardware fault recurs on return, a sent signal is
   * raised again (pending until this handler returns). */
  signal(sig, SIG_DFL);
  if (info->si_code <= 0) raise(sig);
}

static void free_altstack(void* memory) {
  stack_t off = {.ss_flags = SS_DISABLE};
  sigaltstack(&off, NULL);
  free(memory);
}

static void install_handler(void) {
  struct sigaction action;
  memset(&action, 0, sizeof(action));
  action.sa_sigaction = on_fault;
  /* SA_ONSTACK: a kernel that overflows its stack still reaches the handler. */
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  for (int i = 0; i < PH_FAULT_SIGNALS; ++i)
    sigaction(ph_fault_signals[i], &action, &ph_previous[i]);
  pthread_key_create(&ph_altstack_key, free_altstack);
}

/* Installs the fault-signal handler once per process (checked devices call this). */
void ph_local_install_fault_handler(void) { pthread_once(&ph_handler_once, install_handler); }

/* Gives this thread an alternate signal stack unless it has one (freed at thread exit). */
static void ensure_altstack(void) {
  if (tls_altstack) return;
  tls_altstack = 1;
  ph_local_install_fault_handler();  /* also creates the key that frees the stack */
  stack_t current;
  if (sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;
  void* memory = malloc(PH_ALTSTACK_SIZE);
  if (!memory) return;
  stack_t stack = {.ss_sp = memory, .ss_size = PH_ALTSTACK_SIZE, .ss_flags = 0};
  if (sigaltstack(&stack, NULL) != 0) {
    free(memory);
    return;
  }
  pthread_setspecific(ph_altstack_key, memory);
}

/* After a siglongjmp out of the handler the signal is still blocked on this thread (the
 * jump buffer does not save the mask: saving it would cost a system call per call). */
static void unblock_fault_signals(void) {
  sigset_t set;
  sigemptyset(&set);
  for (int i = 0; i < PH_FAULT_SIGNALS; ++i) sigaddset(&set, ph_fault_signals[i]);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void* local_memory(uint32_t size) {
  if (size > tls_local_memory_size) {
    free(tls_local_memory);
    tls_local_memory = aligned_alloc(64, ((size + 63) / 64) * 64);
    tls_local_memory_size = tls_local_memory ? size : 0;
  }
  return tls_local_memory;
}

static inline uint8_t* resolve(const ph_ref_t* r, const ph_slot_t* slots, uint64_t* length) {
  if (r->slot < 0) {
    if (length) *length = r->length;
    return (uint8_t*)(uintptr_t)(r->base + r->offset);
  }
  const ph_slot_t* s = &slots[r->slot];
  if (length) *length = r->length == UINT64_MAX ? s->length - r->offset : r->length;
  return (uint8_t*)(uintptr_t)(s->base + r->offset);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* Fills ptrs/lengths/state of one dispatch; returns its workgroup total. */
static uint64_t prepare(ph_prepared_t* p, const ph_program_t* prog, uint64_t index,
                        const ph_slot_t* slots, int concurrency) {
  const ph_cmd_t* c = &prog->cmds[index];
  uint32_t count[3] = {c->wg_count[0], c->wg_count[1], c->wg_count[2]};
  p->command = (int64_t)index;
  if (c->aux & PH_AUX_INDIRECT) {
    const uint32_t* counts = (const uint32_t*)resolve(&c->a, slots, NULL);
    memcpy(count, counts, sizeof(count));
    /* Counts come from device memory: refuse what the ABI cannot carry (z is 16 bits) or
     * what would run for hours, rather than truncate or hang. */
    if (count[2] > 0xFFFF ||
        (uint64_t)count[0] * count[1] * count[2] > PH_MAX_INDIRECT_WORKGROUPS) {
      memcpy(p->bad_count, count, sizeof(count));
      p->total = 0;
      return UINT64_MAX;
    }
  }
  const ph_ref_t* refs = prog->refs + c->bindings_index;
  for (uint32_t i = 0; i < c->binding_count; ++i) {
    uint64_t len;
    p->ptrs[i] = resolve(&refs[i], slots, &len);
    p->lens[i] = (size_t)len;
  }
  p->state.workgroup_size_x = c->wg_size[0];
  p->state.workgroup_size_y = c->wg_size[1];
  p->state.workgroup_size_z = (uint16_t)c->wg_size[2];
  p->state.push_constant_count = (uint16_t)c->constant_count;
  p->state.workgroup_count_x = count[0];
  p->state.workgroup_count_y = count[1];
  p->state.workgroup_count_z = (uint16_t)count[2];
  p->state.max_concurrency = (uint8_t)(concurrency > 255 ? 255 : concurrency);
  p->state.binding_count = (uint8_t)c->binding_count;
  p->state.push_constants = prog->constants + c->constants_index;
  p->state.binding_ptrs = p->ptrs;
  p->state.binding_lengths = p->lens;
  p->fn = (ph_fn_t)(uintptr_t)c->fn;
  p->env = c->env ? (const void*)(uintptr_t)c->env : (const void*)ph_default_env;
  p->local_memory_size = c->local_memory_size;
  p->total = (uint64_t)count[0] * count[1] * count[2];
  return p->total;
}

static inline void workgroup_state(const ph_prepared_t* p, uint64_t flat, uint32_t processor,
                                   polyhal_workgroup_state_t* wg) {
  uint64_t cx = p->state.workgroup_count_x, cy = p->state.workgroup_count_y;
  wg->workgroup_id_x = (uint32_t)(flat % cx);
  wg->workgroup_id_y = (uint32_t)((flat / cx) % cy);
  wg->workgroup_id_z = (uint16_t)(flat / (cx * cy));
  wg->reserved = 0;
  wg->processor_id = processor;
  wg->local_memory_size = p->local_memory_size;
  wg->local_memory = p->local_memory_size ? local_memory(p->local_memory_size) : NULL;
}

static inline void workgroup_id(const ph_prepared_t* p, uint64_t flat, uint32_t* id) {
  polyhal_workgroup_state_t wg;
  workgroup_state(p, flat, 0, &wg);
  id[0] = wg.workgroup_id_x;
  id[1] = wg.workgroup_id_y;
  id[2] = wg.workgroup_id_z;
}

/* Calls the kernel for one workgroup; with a guard (checked mode), inside it, so that a
 * fault returns to the guard's sigsetjmp knowing which workgroup faulted.  Only the call
 * itself is inside: a fault in the executor's own code (say in malloc) is not caught. */
static inline __attribute__((always_inline)) int call_kernel(const ph_prepared_t* p,
                                                             uint64_t flat,
                                                             const polyhal_workgroup_state_t* wg,
                                                             ph_guard_t* guard) {
  if (!guard) return p->fn(p->env, &p->state, wg);
  guard->dispatch = p;
  guard->flat = flat;
  tls_guard = guard;
  int rc = p->fn(p->env, &p->state, wg);
  tls_guard = NULL;
  return rc;
}

static void record_error(ph_pool_t* pool, ph_result_t* result, const ph_prepared_t* p, int rc,
                         const uint32_t* id, const ph_guard_t* fault) {
  int expected = 0;
  if (pool && !atomic_compare_exchange_strong(&pool->error, &expected, 1)) return;
  result->failed_command = p->command;
  result->code = rc;
  memcpy(result->workgroup, id, sizeof(result->workgroup));
  if (rc == PH_ERROR_FAULT) {
    result->fault_address = fault->address;
    result->fault_signal = fault->signal;
    result->fault_access = fault->access;
  }
}

/* After a guarded kernel call jumped back to its sigsetjmp: fails the command with the
 * fault and the workgroup that was being called. */
static void record_fault(ph_pool_t* pool, ph_result_t* result, const ph_guard_t* guard) {
  unblock_fault_signals();
  uint32_t id[3];
  workgroup_id(guard->dispatch, guard->flat, id);
  record_error(pool, result, guard->dispatch, PH_ERROR_FAULT, id, guard);
}

/* Runs workgroups [begin, end) of dispatch p of the current region; skips them once any
 * failed. */
static inline __attribute__((always_inline)) void run_chunk(ph_pool_t* pool,
                                                            const ph_prepared_t* p,
                                                            uint64_t begin, uint64_t end,
                                                            uint32_t processor,
                                                            ph_guard_t* guard) {
  for (uint64_t i = begin; i < end; ++i) {
    if (atomic_load_explicit(&pool->error, memory_order_relaxed)) continue;
    polyhal_workgroup_state_t wg;
    workgroup_state(p, i, processor, &wg);
    int rc = call_kernel(p, i, &wg, guard);
    if (rc) {
      uint32_t id[3] = {wg.workgroup_id_x, wg.workgroup_id_y, wg.workgroup_id_z};
      record_error(pool, &pool->result, p, rc, id, NULL);
    }
  }
}

/* run_chunk under one guard for the whole chunk (a sigsetjmp per chunk, not per call). */
static __attribute__((noinline)) void run_chunk_checked(ph_pool_t* pool,
                                                        const ph_prepared_t* p,
                                                        uint64_t begin, uint64_t end,
                                                        uint32_t processor) {
  ph_guard_t guard;
  if (sigsetjmp(guard.jump, 0)) {
    record_fault(pool, &pool->result, &guard);
    return;  /* the error flag makes every thread skip what is left */
  }
  run_chunk(pool, p, begin, end, processor, &guard);
}

static ph_cost_t* cost_slot(ph_pool_t* pool, ph_fn_t fn) {
  uint64_t h = (uint64_t)(uintptr_t)fn * UINT64_C(0x9E3779B97F4A7C15);
  return &pool->costs[h >> 58];  /* the top 6 bits: PH_COST_SLOTS entries */
}

static void remember_cost(ph_pool_t* pool, ph_fn_t fn, uint64_t ns_per) {
  ph_cost_t* c = cost_slot(pool, fn);
  atomic_store_explicit(&c->fn, (uintptr_t)fn, memory_order_relaxed);
  atomic_store_explicit(&c->ns, ns_per, memory_order_relaxed);
}

static uint64_t known_cost(ph_pool_t* pool, ph_fn_t fn) {
  ph_cost_t* c = cost_slot(pool, fn);
  uint64_t ns = atomic_load_explicit(&c->ns, memory_order_relaxed);
  return atomic_load_explicit(&c->fn, memory_order_relaxed) == (uintptr_t)fn ? ns : 0;
}

static void wake_workers(ph_pool_t* pool) {
  pthread_mutex_lock(&pool->mu);
  pthread_cond_broadcast(&pool->cv);
  pthread_mutex_unlock(&pool->mu);
}

/* Takes chunks of the current job until none are left (or another generation began); see
 * the top of the file for how big.  Until its compare-exchange succeeds a thread may read a
 * later job's fields (the job moves on once all is completed); the exchange then fails,
 * because the ticket carries the generation, and the values are never used. */
static void work(ph_pool_t* pool, uint64_t generation, uint32_t processor) {
  const uint64_t tag = generation << PH_GEN_SHIFT;
  const uint64_t spread = 2 * ((uint64_t)pool->nworkers + 1);
  int d = 0;              /* the dispatch of the next workgroup: tickets only grow */
  int timed = -1;         /* the dispatch ns_per was measured on */
  uint64_t ns_per = 0;
  for (;;) {
    uint64_t t = atomic_load_explicit(&pool->ticket, memory_order_acquire);
    if ((t & ~PH_INDEX_MASK) != tag) return;
    uint64_t begin = t & PH_INDEX_MASK, total = pool->total;
    if (begin >= total) return;
    while (d + 1 < PH_MAX_REGION && begin >= pool->region[d].first + pool->region[d].total) ++d;
    const ph_prepared_t* p = &pool->region[d];
    uint64_t n = 1;
    if (timed == d) {
      uint64_t cap = (total - begin) / spread;
      n = PH_CHUNK_TARGET_NS / ns_per;
      if (n > cap) n = cap;
      if (n < 1) n = 1;
    }
    uint64_t end = begin + n, dispatch_end = p->first + p->total;
    if (end > dispatch_end) end = dispatch_end;
    if (!atomic_compare_exchange_weak_explicit(&pool->ticket, &t, tag | end,
                                               memory_order_acq_rel, memory_order_acquire))
      continue;
    uint64_t start = now_ns();
    if (pool->checked)
      run_chunk_checked(pool, p, begin - p->first, end - p->first, processor);
    else
      run_chunk(pool, p, begin - p->first, end - p->first, processor, NULL);
    ns_per = (now_ns() - start) / (end - begin);
    if (!ns_per) ns_per = 1;
    if (timed != d) remember_cost(pool, p->fn, ns_per);
    timed = d;
    /* The caller of a region of unknown cost wakes sleeping workers once what is left of it
     * (at this dispatch's rate) is worth a wake-up. */
    if (processor == 0 && atomic_load_explicit(&pool->wake_later, memory_order_relaxed) &&
        (total - end) * ns_per >= PH_WAKE_NS) {
      atomic_store_explicit(&pool->wake_later, 0, memory_order_relaxed);
      wake_workers(pool);
    }
    /* Sequentially consistent, as is the caller's caller_sleeping store before it checks
     * completed: either it sees this count or this thread sees it sleeping. */
    if (atomic_fetch_add(&pool->completed, end - begin) + (end - begin) == total &&
        atomic_load(&pool->caller_sleeping)) {
      pthread_mutex_lock(&pool->done_mu);
      pthread_cond_broadcast(&pool->done_cv);
      pthread_mutex_unlock(&pool->done_mu);
    }
  }
}

/* The caller, out of workgroups: waits until all `total` completed, spinning for as long as
 * the chunks still running should take (or spin_ns if longer) and then asleep (the worker
 * that completes the last one wakes it): a wake-up costs tens of microseconds. */
static void wait_region(ph_pool_t* pool, uint64_t total) {
  uint64_t start = now_ns(), spin = (uint64_t)pool->spin_ns;
  if (spin < 2 * PH_CHUNK_TARGET_NS) spin = 2 * PH_CHUNK_TARGET_NS;
  while (atomic_load_explicit(&pool->completed, memory_order_acquire) < total) {
    if (now_ns() - start >= spin) {
      pthread_mutex_lock(&pool->done_mu);
      atomic_store(&pool->caller_sleeping, 1);
      while (atomic_load(&pool->completed) < total)
        pthread_cond_wait(&pool->done_cv, &pool->done_mu);
      atomic_store(&pool->caller_sleeping, 0);
      pthread_mutex_unlock(&pool->done_mu);
      return;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    sched_yield();
#endif
  }
}

/* Runs every workgroup of one dispatch on this thread; stops at the first failure. */
static inline __attribute__((always_inline)) int run_dispatch(const ph_prepared_t* p,
                                                              ph_result_t* result,
                                                              ph_guard_t* guard) {
  for (uint64_t w = 0; w < p->total; ++w) {
    polyhal_workgroup_state_t wg;
    workgroup_state(p, w, 0, &wg);
    int rc = call_kernel(p, w, &wg, guard);
    if (rc) {
      uint32_t id[3] = {wg.workgroup_id_x, wg.workgroup_id_y, wg.workgroup_id_z};
      record_error(NULL, result, p, rc, id, NULL);
      return -1;
    }
  }
  return 0;
}

/* run_dispatch under one guard for the whole dispatch. */
static __attribute__((noinline)) int run_dispatch_checked(const ph_prepared_t* p,
                                                          ph_result_t* result) {
  ph_guard_t guard;
  if (sigsetjmp(guard.jump, 0)) {
    record_fault(NULL, result, &guard);
    return -1;
  }
  return run_dispatch(p, result, &guard);
}

static void* worker_main(void* arg) {
  ph_pool_t* pool = (ph_pool_t*)arg;
  static _Atomic uint32_t next_id = 1;
  uint32_t processor = atomic_fetch_add(&next_id, 1);
  if (pool->checked) ensure_altstack();
  uint64_t seen = 0;  /* the generation at creation: a job published before this thread
                        * first looked is still its to join */
  for (;;) {
    uint64_t gen = atomic_load_explicit(&pool->generation, memory_order_acquire);
    if (gen == seen) {
      uint64_t start = now_ns();
      while ((gen = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen &&
             !atomic_load(&pool->shutdown) && now_ns() - start < (uint64_t)pool->spin_ns) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
      if (gen == seen) {
        /* Counted before the generation is checked again, both sequentially consistent
         * (as the caller's publication and its load of sleepers): either the caller sees
         * this sleeper or this thread sees the new generation. */
        pthread_mutex_lock(&pool->mu);
        atomic_fetch_add(&pool->sleepers, 1);
        while ((gen = atomic_load(&pool->generation)) == seen && !atomic_load(&pool->shutdown))
          pthread_cond_wait(&pool->cv, &pool->mu);
        atomic_fetch_sub(&pool->sleepers, 1);
        pthread_mutex_unlock(&pool->mu);
      }
    }
    if (atomic_load(&pool->shutdown)) return NULL;
    seen = gen;
    work(pool, gen, processor);
  }
}

ph_pool_t* ph_local_pool_create(int nworkers, long spin_ns, int checked) {
  ph_pool_t* pool = calloc(1, sizeof(ph_pool_t));
  if (!pool) return NULL;
  pool->region = calloc(PH_MAX_REGION, sizeof(ph_prepared_t));
  pool->threads = calloc(nworkers > 0 ? nworkers : 1, sizeof(pthread_t));
  if (!pool->region || !pool->threads) {
    free(pool->region);
    free(pool->threads);
    free(pool);
    return NULL;
  }
  pthread_mutex_init(&pool->mu, NULL);
  pthread_cond_init(&pool->cv, NULL);
  pthread_mutex_init(&pool->job_mu, NULL);
  pthread_mutex_init(&pool->done_mu, NULL);
  pthread_cond_init(&pool->done_cv, NULL);
  pool->spin_ns = spin_ns;
  pool->checked = checked;
  for (int i = 0; i < nworkers; ++i) {
    if (pthread_create(&pool->threads[i], NULL, worker_main, pool) != 0) break;
    pool->nworkers = i + 1;
  }
  return pool;
}

void ph_local_pool_destroy(ph_pool_t* pool) {
  if (!pool) return;
  pthread_mutex_lock(&pool->mu);
  atomic_store(&pool->shutdown, 1);
  pthread_cond_broadcast(&pool->cv);
  pthread_mutex_unlock(&pool->mu);
  for (int i = 0; i < pool->nworkers; ++i) pthread_join(pool->threads[i], NULL);
  pthread_mutex_destroy(&pool->mu);
  pthread_cond_destroy(&pool->cv);
  pthread_mutex_destroy(&pool->job_mu);
  pthread_mutex_destroy(&pool->done_mu);
  pthread_cond_destroy(&pool->done_cv);
  free(pool->threads);
  free(pool->region);
  free(pool);
}

/* Runs one region with the pool's workers; the caller is processor 0.
 *
 * Sharing a region costs its caller a publication, and a wake-up system call when workers
 * sleep, and the region then ends when the slowest thread's last workgroup does: a worker
 * that wakes late (tens of microseconds, more on a busy machine) holds up work that the
 * caller alone would have finished sooner.  So a region whose workgroups' costs are known
 * from earlier runs (costs[]) and sum to less than PH_ALONE_NS runs on the caller alone,
 * and sleeping workers are woken at once only for one known to take PH_WAKE_NS or one of
 * many workgroups; otherwise the caller wakes them once its first workgroups show the
 * rest to be worth it.  Workers still spinning join any shared region at no cost. */
static int run_region(ph_pool_t* pool, ph_result_t* result) {
  uint64_t total = 0, estimate = 0;
  int known = 1;
  for (int d = 0; d < pool->region_count; ++d) {
    ph_prepared_t* p = &pool->region[d];
    p->first = total;
    total += p->total;
    if (!p->total) continue;
    uint64_t ns = known_cost(pool, p->fn);
    if (!ns)
      known = 0;
    else if (ns > (UINT64_MAX - estimate) / p->total)
      estimate = UINT64_MAX;  /* saturated: plenty */
    else
      estimate += ns * p->total;
  }
  if (total == 0) return 0;
  if (total == 1 || (known && estimate < PH_ALONE_NS)) {
    for (int d = 0; d < pool->region_count; ++d) {
      const ph_prepared_t* p = &pool->region[d];
      if (!p->total) continue;
      /* Timed when it has more than one workgroup, so that a kernel that became costlier
       * (other push constants, say) is shared again. */
      uint64_t start = p->total > 1 ? now_ns() : 0;
      if (pool->checked ? run_dispatch_checked(p, result) : run_dispatch(p, result, NULL))
        return -1;
      if (p->total > 1) remember_cost(pool, p->fn, (now_ns() - start) / p->total + 1);
    }
    return 0;
  }
  const uint64_t threads = (uint64_t)pool->nworkers + 1;
  pool->total = total;
  atomic_store(&pool->completed, 0);
  atomic_store(&pool->error, 0);
  pool->result.failed_command = -1;
  uint64_t gen = atomic_load(&pool->generation) + 1;
  atomic_store_explicit(&pool->ticket, gen << PH_GEN_SHIFT, memory_order_release);
  atomic_store(&pool->generation, gen);
  int wake_now = known ? estimate >= PH_WAKE_NS : total >= 8 * threads;
  atomic_store_explicit(&pool->wake_later, 0, memory_order_relaxed);
  if (atomic_load(&pool->sleepers)) {
    if (wake_now)
      wake_workers(pool);
    else if (!known)
      atomic_store_explicit(&pool->wake_later, 1, memory_order_relaxed);
  }
  work(pool, gen, 0);
  wait_region(pool, total);
  if (atomic_load(&pool->error)) {
    *result = pool->result;
    return -1;
  }
  return 0;
}

static void fill(uint8_t* dst, uint64_t length, uint32_t pattern, uint32_t plen) {
  if (plen == 1) {
    memset(dst, (int)(pattern & 0xFF), length);
    return;
  }
  uint8_t block[64];
  for (int i = 0; i < 64; ++i) block[i] = (uint8_t)(pattern >> (8 * (i % plen)));
  while (length >= 64) {
    memcpy(dst, block, 64);
    dst += 64;
    length -= 64;
  }
  memcpy(dst, block, length);
}

/* Runs a fill, copy or update. */
static void transfer(const ph_cmd_t* c, const ph_program_t* prog, const ph_slot_t* slots) {
  uint64_t len;
  uint8_t* dst = resolve(&c->a, slots, &len);
  switch (c->op) {
    case PH_FILL:
      fill(dst, len, c->pattern, c->aux);
      break;
    case PH_COPY:
      memmove(dst, resolve(&c->b, slots, NULL), len);
      break;
    case PH_UPDATE:
      memcpy(dst, prog->data + c->data_offset, len);
      break;
  }
}

/* transfer under the fault guard; returns PH_ERROR_FAULT with `fault` set on a fault. */
static __attribute__((noinline)) int transfer_checked(const ph_cmd_t* c,
                                                      const ph_program_t* prog,
                                                      const ph_slot_t* slots, ph_guard_t* fault) {
  ph_guard_t guard;
  if (sigsetjmp(guard.jump, 0)) {
    unblock_fault_signals();
    *fault = guard;
    return PH_ERROR_FAULT;
  }
  tls_guard = &guard;
  transfer(c, prog, slots);
  tls_guard = NULL;
  return 0;
}

/* ph_local_execute and ph_local_execute_timed.  `times` NULL (a constant in ph_local_execute, so the
 * untimed instance has no timing code at all), or 2 * count clock readings: a dispatch
 * record i gets CLOCK_MONOTONIC ns before and after it in times[2i], times[2i + 1], and
 * runs as a region of its own (its own workgroups still spread over the pool), so that
 * each time is that dispatch's alone.  Entries of other records are left untouched. */
static inline __attribute__((always_inline)) int execute(ph_pool_t* pool,
                                                         const ph_program_t* prog,
                                                         const ph_slot_t* slots, int flags,
                                                         ph_result_t* result, uint64_t* times) {
  const int max_region = times ? 1 : PH_MAX_REGION;
  result->failed_command = -1;
  result->code = 0;
  int checked = flags & PH_EXEC_CHECKED;
  if (checked) ensure_altstack();
  int parallel = pool && pool->nworkers > 0 && !(flags & PH_EXEC_SERIAL) &&
                 pthread_mutex_trylock(&pool->job_mu) == 0;
  int concurrency = parallel ? pool->nworkers + 1 : 1;
  int status = 0;
  ph_prepared_t single;
  uint64_t i = 0;
  while (i < prog->count && status == 0) {
    const ph_cmd_t* c = &prog->cmds[i];
    switch (c->op) {
      case PH_DISPATCH:
        if (parallel) {
          pool->region_count = 0;
          while (i < prog->count && prog->cmds[i].op == PH_DISPATCH &&
                 pool->region_count < max_region) {
            ph_prepared_t* p = &pool->region[pool->region_count++];
            if (prepare(p, prog, i, slots, concurrency) == UINT64_MAX) {
              record_error(NULL, result, p, PH_ERROR_INDIRECT_COUNT, p->bad_count, NULL);
              status = -1;
              break;
            }
            ++i;
          }
          if (status == 0) {
            if (times) times[2 * (i - 1)] = now_ns();
            status = run_region(pool, result);
            if (times) times[2 * i - 1] = now_ns();
          }
          continue;
        }
        if (prepare(&single, prog, i, slots, 1) == UINT64_MAX) {
          record_error(NULL, result, &single, PH_ERROR_INDIRECT_COUNT, single.bad_count, NULL);
          status = -1;
          break;
        }
        if (times) times[2 * i] = now_ns();
        status = checked ? run_dispatch_checked(&single, result)
                         : run_dispatch(&single, result, NULL);
        if (times) times[2 * i + 1] = now_ns();
        break;
      case PH_FILL:
      case PH_COPY:
      case PH_UPDATE:
        if (checked) {
          ph_guard_t fault;
          if (transfer_checked(c, prog, slots, &fault)) {
            static const uint32_t none[3] = {0, 0, 0};
            single.command = (int64_t)i;
            record_error(NULL, result, &single, PH_ERROR_FAULT, none, &fault);
            status = -1;
          }
        } else {
          transfer(c, prog, slots);
        }
        break;
      default:  /* barriers and events: the region already joined; discards and debug
                 * groups need nothing on the CPU */
        break;
    }
    ++i;
  }
  if (parallel) pthread_mutex_unlock(&pool->job_mu);
  return status;
}

/* Executes a whole program.  `flags`: PH_EXEC_SERIAL (one dispatch at a time, on this
 * thread), PH_EXEC_CHECKED (kernels and transfers under the fault guard; the pool must
 * have been created checked).  Returns 0, or -1 with `result` naming the failure. */
int ph_local_execute(ph_pool_t* pool, const ph_program_t* prog, const ph_slot_t* slots, int flags,
               ph_result_t* result) {
  return execute(pool, prog, slots, flags, result, NULL);
}

/* ph_local_execute that also times each dispatch into `times` (2 * prog->count entries; see
 * execute()): what a traced submission runs. */
int ph_local_execute_timed(ph_pool_t* pool, const ph_program_t* prog, const ph_slot_t* slots,
                     int flags, ph_result_t* result, uint64_t* times) {
  return execute(pool, prog, slots, flags, result, times);
}

#ifdef PH_PYTHON_MODULE
/* The package's build (setup.py) compiles this file as the extension module
 * polyhal.drivers.local._executor, so that pip and wheels ship it built.  Python loads that
 * file with ctypes for the ph_* functions above, and imports it for run(): the short path of
 * a submission (LocalDevice.execute_one), where a ctypes call and the packing of its
 * arguments were a microsecond of a whole program's call.  Without PH_PYTHON_MODULE this
 * stays plain C with no Python dependency. */
#include <Python.h>

/* Binding tables up to this size are resolved on the stack. */
enum { PH_STACK_SLOTS = 64 };

static PyObject *str_alloc, *str_ptr, *str_offset, *str_length;

/* An unsigned 64-bit attribute of `obj`; -1 with an exception set on failure. */
static int u64_attr(PyObject* obj, PyObject* name, uint64_t* out) {
  PyObject* v = PyObject_GetAttr(obj, name);
  if (!v) return -1;
  *out = PyLong_AsUnsignedLongLong(v);
  Py_DECREF(v);
  return (*out == (uint64_t)-1 && PyErr_Occurred()) ? -1 : 0;
}

/* The entry's {alloc.ptr + offset, length} (drivers.base.ResolvedBinding). */
static int resolve_entry(PyObject* entry, ph_slot_t* slot) {
  PyObject* alloc = PyObject_GetAttr(entry, str_alloc);
  if (!alloc) return -1;
  uint64_t ptr, offset;
  int rc = u64_attr(alloc, str_ptr, &ptr);
  Py_DECREF(alloc);
  if (rc || u64_attr(entry, str_offset, &offset) || u64_attr(entry, str_length, &slot->length))
    return -1;
  slot->base = ptr + offset;
  return 0;
}

/* run(pool, program, table, flags) -> None | bytes: ph_local_execute of the program at
 * address `program` (a ph_program_t) with `table` (a list or tuple of ResolvedBinding,
 * resolved here to ph_slot_t) on `pool` (an address, or None), the GIL released while it
 * runs.  None when it succeeded, else the ph_result_t naming the failure as bytes
 * (executor.Result.from_buffer_copy reads them).  TypeError / OverflowError for arguments
 * not of those types. */
static PyObject* py_run(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  (void)self;
  if (nargs != 4) {
    PyErr_SetString(PyExc_TypeError, "run(pool, program, table, flags) takes 4 arguments");
    return NULL;
  }
  void* pool = args[0] == Py_None ? NULL : PyLong_AsVoidPtr(args[0]);
  if (!pool && PyErr_Occurred()) return NULL;
  const ph_program_t* prog = PyLong_AsVoidPtr(args[1]);
  if (!prog) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "run: program address is 0");
    return NULL;
  }
  long flags = PyLong_AsLong(args[3]);
  if (flags == -1 && PyErr_Occurred()) return NULL;
  PyObject* table = args[2];
  int is_list = PyList_Check(table);
  if (!is_list && !PyTuple_Check(table)) {
    PyErr_SetString(PyExc_TypeError, "run: the table is a list or tuple");
    return NULL;
  }
  Py_ssize_t n = is_list ? PyList_Size(table) : PyTuple_Size(table);
  ph_slot_t stack[PH_STACK_SLOTS];
  ph_slot_t* slots = n <= PH_STACK_SLOTS ? stack : PyMem_Malloc((size_t)n * sizeof(ph_slot_t));
  if (!slots) return PyErr_NoMemory();
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* entry = is_list ? PyList_GetItem(table, i) : PyTuple_GetItem(table, i);
    if (!entry || resolve_entry(entry, &slots[i])) {
      if (slots != stack) PyMem_Free(slots);
      return NULL;
    }
  }
  ph_result_t result;
  PyThreadState* ts = PyEval_SaveThread();  /* a kernel may loop for long */
  int status = execute((ph_pool_t*)pool, prog, n ? slots : NULL, (int)flags, &result, NULL);
  PyEval_RestoreThread(ts);
  if (slots != stack) PyMem_Free(slots);
  if (status == 0) Py_RETURN_NONE;
  return PyBytes_FromStringAndSize((const char*)&result, sizeof result);
}

static PyMethodDef ph_methods[] = {
    {"run", (PyCFunction)(void (*)(void))py_run, METH_FASTCALL,
     "run(pool, program, table, flags): ph_local_execute; None, or the failure's ph_result_t "
     "as bytes."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef ph_module = {PyModuleDef_HEAD_INIT, "_executor", NULL, 0, ph_methods};

PyMODINIT_FUNC PyInit__executor(void) {
  if (!(str_alloc = PyUnicode_InternFromString("alloc")) ||
      !(str_ptr = PyUnicode_InternFromString("ptr")) ||
      !(str_offset = PyUnicode_InternFromString("offset")) ||
      !(str_length = PyUnicode_InternFromString("length")))
    return NULL;
  return PyModule_Create(&ph_module);
}
#endif

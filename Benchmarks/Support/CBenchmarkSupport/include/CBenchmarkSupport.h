#ifndef SESSIONKIT_C_BENCHMARK_SUPPORT_H
#define SESSIONKIT_C_BENCHMARK_SUPPORT_H

#include <stddef.h>

/// 1 when this process may count its own retired instructions (perf_event_open
/// with PERF_COUNT_HW_INSTRUCTIONS succeeds), 0 otherwise: in many virtual
/// machines the hardware counters are not exposed.
int sessionkit_instructions_counter_available(void);

/// Bytes of heap in use (glibc's mallinfo2: uordblks + hblkhd); 0 elsewhere.
size_t sessionkit_heap_in_use(void);

/// Returns free heap memory to the system where the allocator supports it.
void sessionkit_heap_trim(void);

#endif

#include "CBenchmarkSupport.h"

#if defined(__linux__)
#include <linux/perf_event.h>
#include <malloc.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int sessionkit_instructions_counter_available(void) {
    struct perf_event_attr attributes;
    memset(&attributes, 0, sizeof(attributes));
    attributes.type = PERF_TYPE_HARDWARE;
    attributes.size = sizeof(attributes);
    attributes.config = PERF_COUNT_HW_INSTRUCTIONS;
    attributes.disabled = 1;
    attributes.exclude_kernel = 1;
    attributes.exclude_hv = 1;
    long descriptor = syscall(SYS_perf_event_open, &attributes, 0, -1, -1, 0);
    if (descriptor < 0) {
        return 0;
    }
    close((int)descriptor);
    return 1;
}

size_t sessionkit_heap_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

void sessionkit_heap_trim(void) {
    malloc_trim(0);
}
#else
int sessionkit_instructions_counter_available(void) {
    return 1;
}

size_t sessionkit_heap_in_use(void) {
    return 0;
}

void sessionkit_heap_trim(void) {}
#endif

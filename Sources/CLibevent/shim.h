#ifndef CLIBEVENT_SHIM_H
#define CLIBEVENT_SHIM_H

/* libc first, on purpose: <event2/event-config.h> defines _GNU_SOURCE, and if glibc's
   <features.h> first runs after that, this module sees the X/Open spelling of fd_set
   (fds_bits) while Swift's Glibc module sees __fds_bits; clean builds of any target importing
   both then fail with "'fds_bits' from module 'CLibevent' is not present in definition of
   'fd_set' in module 'SwiftGlibc'". Including them here keeps both modules on glibc's defaults. */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdint.h>
#include <pthread.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

/* Function-like macros, which Swift cannot import, wrapped as functions. */
static inline struct event *CLibevent_evtimer_new(struct event_base *base, event_callback_fn cb, void *arg) {
    return evtimer_new(base, cb, arg);
}
static inline int CLibevent_evtimer_add(struct event *ev, const struct timeval *tv) {
    return evtimer_add(ev, tv);
}
static inline struct event *CLibevent_evsignal_new(struct event_base *base, int signum, event_callback_fn cb, void *arg) {
    return evsignal_new(base, signum, cb, arg);
}

/* pthread_setname_np is a GNU extension, which glibc hides without _GNU_SOURCE (see above); loop
   threads are named so that `top -H` and debuggers show which loop is busy. */
extern int pthread_setname_np(pthread_t thread, const char *name);
static inline int CLibevent_set_thread_name(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}

#endif

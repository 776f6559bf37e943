/* A libpvfront guest run in a child of a benchmark or test (netfront.h):
 * the wait between sends, and failing with a reason the parent prints.
 * Not for the pvback-netfront binary (nbworld.h). */
#ifndef PVBACK_TEST_NFGUEST_H
#define PVBACK_TEST_NFGUEST_H

#include <stddef.h>

struct nf_dev;

/* Waits up to ms for the event channel, handles the events and polls the
 * queues. Returns nf_poll_queues' result or a negative errno. */
int nfguest_wait(struct nf_dev *d, int ms);
/* Writes "guest: <what>: <error>" into err, disconnects and closes d (may
 * be NULL) and returns 1: the guest's exit status. */
int nfguest_fail(char *err, size_t errlen, struct nf_dev *d, const char *what, int rc);

#endif

/* A libpvfront guest in a child process (see nfguest.h). */
#include "nfguest.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "netfront.h"

int nfguest_wait(struct nf_dev *d, int ms)
{
        struct pollfd p = {.fd = nf_evtchn_fd(d), .events = POLLIN};
        poll(&p, 1, ms);
        int rc = nf_handle_events(d);
        return rc < 0 ? rc : nf_poll_queues(d);
}

int nfguest_fail(char *err, size_t errlen, struct nf_dev *d, const char *what, int rc)
{
        snprintf(err, errlen, "guest: %s: %s", what, strerror(-rc));
        if (d) {
                nf_disconnect(d);
                nf_close(d);
        }
        return 1;
}

/* A vif's counters as pvbackd's control socket reports them (`show DEVICE`,
 * common/ctl_proto.h), summed over its queues into the struct the workers
 * count in (backend/netback/nb_stats.h), for tests and benchmarks that
 * assert or divide by them while the guest is connected. Not a client for
 * anything else pvback-inspect shows. */
#ifndef PVBACK_TEST_NBSTATS_H
#define PVBACK_TEST_NBSTATS_H

#include <stdbool.h>
#include <stddef.h>

#include "netback/nb_stats.h"
#include "simhost.h"

struct nbstats {
        bool connected;
        unsigned queues;
        char tx_caps[64]; /* the uplink's, as off_caps_str() names them */
        struct {          /* what the frontend negotiated (when connected) */
                bool sg, gso_tcpv4, gso_tcpv6, csum_ipv4, csum_ipv6;
        } neg;
        struct nb_queue_stats sum; /* every counter, summed over the queues */
};

/* The simulator's default socket of the host's domain 0 pvbackd. */
const char *nbstats_sock(const struct simhost *h, char *buf, size_t len);

/* Asks pvbackd on @sock for device @dev ("vif1.0"). Every counter of the
 * struct must be in the answer: a missing one is an error, never a zero.
 * Returns 0, or -errno with @why filled (the daemon's error included). */
int nbstats_read(const char *sock, const char *dev, struct nbstats *out, char *why, size_t whylen);

/* @after minus @before, counter by counter (hold_ns_max: @after's). */
void nbstats_delta(const struct nbstats *before, const struct nbstats *after,
                   struct nb_queue_stats *d);

#endif

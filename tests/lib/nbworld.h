/* The netback end-to-end world for integration tests, built only from the
 * shipped binaries: a simulated host (pvback-sim), a host network namespace
 * with bridge xenbr0 (10.9.0.1/24) where pvbackd runs as domain 0, a vif of
 * guest domain 1 attached by `pvback-sim vif attach` with the stock
 * /etc/xen/scripts/vif-bridge, and a guest network namespace where
 * `pvback-netfront tap` exposes the vif as eth0 (10.9.0.2/24). Plus verified
 * TCP streams between the two (real kernel TCP, so GSO and checksum metadata
 * cross the rings). Every process dies with the test; namespaces with their
 * holders (netns.h); the simulated host and the logs in its directory
 * however the test ends (simhost.h, tmpdir.h).
 *
 * A local world (nbw_opts.local) is the bare variant for tests that drive
 * the vifs themselves: the caller's own network namespace (unshared), no
 * bridge and no guest namespace, the domains it asks for, and a minimal
 * hotplug script at w->script. The caller starts pvbackd
 * (nbw_pvbackd_start) and attaches its vifs with that script. */
#ifndef PVBACK_TEST_NBWORLD_H
#define PVBACK_TEST_NBWORLD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "netns.h"
#include "simhost.h"

#define NBW_HOST_IP   "10.9.0.1"
#define NBW_GUEST_IP  "10.9.0.2"
#define NBW_GUEST_MAC "00:16:3e:00:00:01"
#define NBW_DOMID     1

struct nbw {
        struct simhost host;
        struct netns hostns, guestns;
        pid_t pvbackd, netfront;
        unsigned nf_runs; /* netfront processes started (log file index) */
        char pvbackd_log[PATH_MAX + 32];
        char nf_log[PATH_MAX + 32]; /* the current netfront's stdout+stderr */
        char script[PATH_MAX + 32]; /* local world: the hotplug script */
        bool local;
};

struct nbw_opts {
        unsigned max_queues;             /* pvbackd -o vif.max-queues (0: 4) */
        const char *rate;                /* toolstack --rate (NULL: unlimited) */
        bool local;                      /* a local world (see above) */
        const uint16_t *domids;          /* local: guest domains to create, 0-ended */
        const char *const *pvbackd_args; /* more pvbackd arguments (NULL-ended) */
};

/* Host, namespaces, bridge, pvbackd, and the vif attached through the
 * toolstack with the stock vif-bridge (waits for hotplug-status=connected).
 * Returns 0, or -errno with `why` filled. */
int nbw_up(struct nbw *w, const struct nbw_opts *o, char *why, size_t whylen);
/* Starts `[wrapper...] pvbackd --hypervisor sim --foreground <args...>` as
 * domain 0 (both lists NULL-ended; wrapper may be NULL, e.g. valgrind and
 * its options), output to w->pvbackd_log. nbw_up does this itself except
 * in a local world. Returns 0 or -errno. */
int nbw_pvbackd_start(struct nbw *w, const char *const wrapper[], const char *const args[]);
/* Stops the netfront, pvbackd (SIGTERM: clean disconnect), namespaces and
 * the host. Safe on a partial world; idempotent. */
void nbw_down(struct nbw *w);

/* Starts `pvback-netfront <mode>` as domain 1 with its extra args
 * (NULL-ended; tap mode gets --netns/--ip) and waits until it is connected
 * (and, in tap mode, eth0 is up). Returns 0 or -errno (why filled, log
 * tail included). */
int nbw_netfront_start(struct nbw *w, const char *mode, const char *const args[], char *why,
                       size_t whylen);
/* SIGTERM to the netfront and wait: its exit status (or -ETIMEDOUT). The
 * log stays at w->nf_log. */
int nbw_netfront_stop(struct nbw *w);
/* Backend (dom0's view) key of the vif: malloc'd value or NULL. */
char *nbw_be_read(struct nbw *w, const char *key);
int nbw_be_write(struct nbw *w, const char *key, const char *value);
/* Polls the backend key until it equals want (ms budget). */
bool nbw_be_wait(struct nbw *w, const char *key, const char *want, int ms);
/* Prints the last lines of pvbackd's and the netfront's logs to stderr. */
void nbw_dump_logs(const struct nbw *w);
/* Reads the whole file (malloc'd, NUL-ended; empty string if absent). */
char *nbw_slurp(const char *path);

/* ping -c count from one side to the other; returns ping's exit status. */
int nbw_ping(struct nbw *w, bool from_guest, int count);

struct nbw_stream {
        uint64_t bytes_sent, bytes_received;
        uint64_t digest_sent, digest_received; /* over the byte stream */
        uint64_t first_bad;                    /* offset of the first wrong byte, or UINT64_MAX */
        double seconds;                        /* receiver: first to last byte */
        int sender_status, receiver_status;    /* exit status of the two children */
};
/* One TCP connection carrying `bytes` of a seeded pattern, receiver
 * listening on `port` on one side, sender on the other. The receiver
 * digests what arrived and checks it against the pattern. Returns 0 when
 * both sides finished (the caller asserts on the figures), -errno if not. */
int nbw_tcp_stream(struct nbw *w, bool guest_to_host, uint64_t bytes, uint16_t port, uint32_t seed,
                   struct nbw_stream *out);
/* The same between any two namespaces: the receiver listens on rx_ip in
 * rx_ns (e.g. a third host behind the bridge sending to the guest); an
 * rx_ip with a colon is IPv6. */
int nbw_tcp_stream_ns(struct nbw *w, struct netns *tx_ns, struct netns *rx_ns, const char *rx_ip,
                      uint64_t bytes, uint16_t port, uint32_t seed, struct nbw_stream *out);
/* Mbit/s of a finished stream. */
double nbw_mbps(const struct nbw_stream *s);

#endif

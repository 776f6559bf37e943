/* Wire protocol and shared port words between the sim provider's event-channel
 * handles and the pvback-sim broker (tools/sim/evtchn_broker.c). Private to
 * the two. */
#ifndef PVBACK_XH_SIM_EVTCHN_PROTO_H
#define PVBACK_XH_SIM_EVTCHN_PROTO_H

#include <stdbool.h>
#include <stdint.h>

/* On connect to <dir>/dom<N>/evtchn.sock (SOCK_SEQPACKET) the broker sends one
 * struct xh_sim_ev_rep {rc = 0, op = XH_SIM_EV_HELLO, port = number of ports}
 * carrying, by SCM_RIGHTS, the handle's wake eventfd and the domain's port
 * words (a memfd of port-count uint64_t, see below). Then the client sends
 * requests; bind_*, unbind and peer get a reply. Notify and unmask are not
 * requests: the provider does both itself on the port words.
 *
 * The broker alone changes a port's state (and then its generation). A notify
 * on an interdomain port asks the broker once for the peer (XH_SIM_EV_PEER:
 * reply.port = remote port, gen_local/gen_remote = both words' generations,
 * SCM_RIGHTS = the remote domain's port words and the remote owner's wake
 * eventfd), then delivers directly: a CAS on the remote word that succeeds only
 * while its generation and state are the ones the broker reported. */
enum xh_sim_ev_op {
        XH_SIM_EV_HELLO = 1,
        XH_SIM_EV_BIND_INTERDOMAIN, /* a = remote domid, b = remote port */
        XH_SIM_EV_BIND_UNBOUND,     /* a = remote domid */
        XH_SIM_EV_UNBIND,           /* a = port */
        XH_SIM_EV_PEER,             /* a = port */
};

struct xh_sim_ev_req {
        uint32_t op;
        uint32_t a;
        uint32_t b;
        uint32_t seq;
};

struct xh_sim_ev_rep {
        uint32_t op;
        int32_t rc; /* 0 or -errno */
        uint32_t port;
        uint32_t seq;
        uint32_t gen_local;
        uint32_t gen_remote;
};

/* One port word: generation (bumped by the broker on every state change, so a
 * reused or closed port never matches a sender's stale view), state, and the
 * evtchn driver's pending/mask pair. QUEUED means delivered to the owning
 * handle and not yet returned by its pending(). Word 0 (port 0 is never
 * used) carries XH_SIM_EVW_DEAD once the domain is destroyed. */
enum xh_sim_evw_state { XH_SIM_EVW_FREE = 0, XH_SIM_EVW_UNBOUND, XH_SIM_EVW_INTERDOMAIN };

#define XH_SIM_EVW_GEN_MASK    0xffffffffull
#define XH_SIM_EVW_STATE_SHIFT 32
#define XH_SIM_EVW_STATE_MASK  (3ull << XH_SIM_EVW_STATE_SHIFT)
#define XH_SIM_EVW_PENDING     (1ull << 40)
#define XH_SIM_EVW_MASKED      (1ull << 41)
#define XH_SIM_EVW_QUEUED      (1ull << 42)
#define XH_SIM_EVW_DEAD        (1ull << 63)

static inline uint32_t xh_sim_evw_gen(uint64_t w)
{
        return (uint32_t)(w & XH_SIM_EVW_GEN_MASK);
}

static inline unsigned xh_sim_evw_state(uint64_t w)
{
        return (unsigned)((w & XH_SIM_EVW_STATE_MASK) >> XH_SIM_EVW_STATE_SHIFT);
}

/* evtchn_set_pending, then the Linux driver's upcall, on one word: an unmasked
 * port is queued once and masked; a masked one just stays pending. Returns 1
 * if the owner must be woken, 0 if not, -1 if the word no longer is the
 * (generation, state) the caller expects. */
static inline int xh_sim_evw_deliver(uint64_t *word, uint32_t gen, unsigned state)
{
        uint64_t old = __atomic_load_n(word, __ATOMIC_ACQUIRE), nw;
        do {
                if (xh_sim_evw_gen(old) != gen || xh_sim_evw_state(old) != state)
                        return -1;
                if (old & XH_SIM_EVW_MASKED)
                        nw = old | XH_SIM_EVW_PENDING;
                else
                        nw = old | XH_SIM_EVW_MASKED | XH_SIM_EVW_QUEUED;
                if (nw == old)
                        return 0;
        } while (!__atomic_compare_exchange_n(word, &old, nw, false, __ATOMIC_ACQ_REL,
                                              __ATOMIC_ACQUIRE));
        return (old & XH_SIM_EVW_MASKED) ? 0 : 1;
}

/* The driver's unmask: clears the mask; a pending event is delivered again.
 * Returns 1 if the owner must be woken. */
static inline int xh_sim_evw_unmask(uint64_t *word)
{
        uint64_t old = __atomic_load_n(word, __ATOMIC_ACQUIRE), nw;
        do {
                if (old & XH_SIM_EVW_PENDING)
                        nw = (old & ~XH_SIM_EVW_PENDING) | XH_SIM_EVW_MASKED | XH_SIM_EVW_QUEUED;
                else
                        nw = old & ~XH_SIM_EVW_MASKED;
                if (nw == old)
                        return 0;
        } while (!__atomic_compare_exchange_n(word, &old, nw, false, __ATOMIC_ACQ_REL,
                                              __ATOMIC_ACQUIRE));
        return (old & XH_SIM_EVW_PENDING) ? 1 : 0;
}

#endif

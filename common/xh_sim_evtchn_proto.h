/* Wire protocol between the sim provider's event-channel handles and the
 * pvback-sim broker (tools/sim/evtchn_broker.c). Private to the two. */
#ifndef PVBACK_XH_SIM_EVTCHN_PROTO_H
#define PVBACK_XH_SIM_EVTCHN_PROTO_H

#include <stdint.h>

/* On connect to <dir>/dom<N>/evtchn.sock (SOCK_SEQPACKET) the broker sends one
 * struct xh_sim_ev_rep {rc = 0, op = XH_SIM_EV_HELLO} carrying, by SCM_RIGHTS,
 * the handle's event socket: a SOCK_STREAM on which every delivered port
 * arrives as one uint32_t. Then the client sends requests; only bind_* and
 * unbind get a reply; notify and unmask are fire-and-forget (one send). */
enum xh_sim_ev_op {
        XH_SIM_EV_HELLO = 1,
        XH_SIM_EV_BIND_INTERDOMAIN, /* a = remote domid, b = remote port */
        XH_SIM_EV_BIND_UNBOUND,     /* a = remote domid */
        XH_SIM_EV_UNBIND,           /* a = port */
        XH_SIM_EV_NOTIFY,           /* a = port */
        XH_SIM_EV_UNMASK,           /* a = port */
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
};

#endif

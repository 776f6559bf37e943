/* The simulator's xenstored: the real xs_wire protocol over one unix socket per
 * domain, so libxenstore and Debian's xenstore-* tools work unchanged, and each
 * connection acts as the domain whose socket it came through. */
#ifndef PVBACK_SIM_XSD_H
#define PVBACK_SIM_XSD_H

#include <stdint.h>

#include "evloop.h"

struct xsd;

/* Creates an empty store (root "/" owned by dom0) serving through `loop`.
 * Sockets live under dir as described in sim_paths.h. */
int xsd_create(struct ev_loop *loop, const char *dir, struct xsd **out);
/* Closes every connection and listening socket, unlinks the sockets, frees all. */
void xsd_destroy(struct xsd *x);
/* Opens <dir>/dom<N>/xenstored.sock (the directory must exist), writes the
 * domain's tree as libxl does at domain creation, and fires @introduceDomain.
 * Domain 0 is privileged and its tree is Domain-0's. */
int xsd_domain_introduce(struct xsd *x, uint16_t domid);
/* As libxl's forced destroy plus Xen's release: removes the domain's frontend
 * tree and every backend directory serving it, closes its connections and
 * socket, drops its watches and transactions, fires @releaseDomain. */
int xsd_domain_release(struct xsd *x, uint16_t domid);

#endif

/* pvback-netfront's tap mode: a TAP device (IFF_VNET_HDR) standing for the
 * guest's network interface, optionally inside a network namespace, with the
 * virtio_net_hdr mapped to and from the netif ring flags. Not an uplink of
 * the backend: this is the guest side. */
#ifndef PVBACK_NF_TAP_H
#define PVBACK_NF_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netfront.h"

struct nf_tap_cfg {
        const char *ifname; /* default "eth0" */
        const char *netns;  /* name under /run/netns, or a path; NULL: current */
        const uint8_t *mac; /* the vif's mac */
        uint32_t mtu;
        const char *ipv4; /* "10.0.0.2/24" or NULL */
};

struct nf_tap {
        int fd;
        char ifname[16];
        /* Frames read, in turns: a frame stays valid until the read after
         * next, so a caller can hold one and read one ahead. */
        uint8_t rbuf[2][NF_MAX_TX_SIZE + 64];
        unsigned int rnext;
        /* nf_tap_write's own, for a frame it must change: never a frame
         * that was read and waits to go to the backend. */
        uint8_t wbuf[NF_MAX_TX_SIZE + 64];
};

/* Enters the namespace (for the whole process: the TAP and its addresses
 * belong there), creates the TAP, sets mac, mtu, address, and brings it up.
 * Offloads the kernel may hand us follow what the backend negotiated. */
int nf_tap_open(struct nf_tap *t, const struct nf_tap_cfg *cfg, const struct nf_negotiated *neg,
                char *err, size_t errlen);
void nf_tap_close(struct nf_tap *t);

/* Reads one frame from the kernel; f points into t's buffer for it, valid
 * until the read after next. -EAGAIN when none is ready; -EPROTO for a GSO
 * type the ring cannot carry. */
int nf_tap_read(struct nf_tap *t, struct nf_frame *f);
/* Writes a received frame to the kernel with its checksum/GSO state. */
int nf_tap_write(struct nf_tap *t, const struct nf_rx_frame *f);

#endif

/* The benchmarks' frame injector: a packet socket that writes into a TAP
 * from the kernel's side (towards whoever reads the TAP) with a virtio
 * header on every frame, in sendmmsg batches, keeping at most a window of
 * frames ahead of the receiver so that neither side spins on drops. Not for
 * verified traffic (nbecho.h). */
#ifndef PVBACK_TEST_NBINJECT_H
#define PVBACK_TEST_NBINJECT_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define NBINJ_BATCH 32u

struct nbinj {
        int fd;
        uint32_t window; /* frames sent and not yet received, at most */
        uint64_t sent, lost, seen, stalled_since;
        struct mmsghdr msgs[NBINJ_BATCH];
        struct iovec iov[NBINJ_BATCH][2];
};

/* Opens the socket on ifname (PACKET_VNET_HDR, qdisc bypassed). Returns 0
 * or -errno. */
int nbinj_open(struct nbinj *j, const char *ifname, uint32_t window);
/* Batch slot i (< NBINJ_BATCH) sends vh then the frame; both must outlive
 * the injection (a caller may rewrite the frame between batches). */
void nbinj_set(struct nbinj *j, uint32_t i, const struct virtio_net_hdr *vh, const void *frame,
               size_t len);
/* Whether a batch may go now, given how many frames the receiver has seen.
 * When not, it waits 20 us; frames the TAP dropped never come, so after
 * 20 ms without progress the window counts as lost. */
bool nbinj_window_open(struct nbinj *j, uint64_t received);
/* Sends one batch; 0 or -errno (a full queue is not an error). */
int nbinj_send(struct nbinj *j);
void nbinj_close(struct nbinj *j);

#endif

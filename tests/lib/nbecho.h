/* Verified frame bursts through a guest's echo: generator frames
 * (nf_gen.h) written into a vif's TAP over a packet socket, reflected by
 * `pvback-netfront echo` in the guest, read back and checked byte for byte
 * against the pattern and digest. Not for TCP streams (nbworld.h). */
#ifndef PVBACK_TEST_NBECHO_H
#define PVBACK_TEST_NBECHO_H

#include <stdint.h>

#include "nf_gen.h"

/* The frames: generator flows towards the guest, whose MAC is
 * 00:16:3e:00:00:<domid> and addresses 10.<domid>.0.x. */
struct nbecho_flow {
        uint8_t domid;
        uint32_t flows, seed;
};

struct nbecho_pace {
        uint32_t frames; /* how many to send */
        uint32_t window; /* frames sent and not back yet, at most */
        int stall_ms;    /* nothing back for this long: stalled */
};

struct nbecho_result {
        uint64_t sent_frames, sent_bytes; /* bytes as on the wire */
        uint64_t sent_payload, sent_digest;
        struct nf_verify back; /* what came back */
        int error;             /* 0, -ETIMEDOUT if it stalled, else -errno of a failed send */
};

/* A packet socket bound to the interface; the fd or -errno. */
int nbecho_open(const char *ifname);
/* Sends the frames through the echo over fd (from nbecho_open) and
 * collects them; the caller asserts on the result. Returns r->error. */
int nbecho_run(int fd, const struct nbecho_flow *f, const struct nbecho_pace *p,
               struct nbecho_result *r);
/* nbecho_run on a socket of its own on ifname (-errno if none). */
int nbecho_run_on(const char *ifname, const struct nbecho_flow *f, const struct nbecho_pace *p,
                  struct nbecho_result *r);

#endif

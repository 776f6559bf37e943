/* A kernel world for differential tests: a forked child in fresh
 * namespaces builds devices (veth, TAP, bridge), drives the kernel, and
 * reports what it saw to the test as records over a pipe; the test compares
 * them with our own code's results. Not for the netback world (nbworld.h)
 * or namespaces that outlive one call (netns.h). */
#ifndef PVBACK_TEST_KWORLD_H
#define PVBACK_TEST_KWORLD_H

#include <stddef.h>
#include <stdint.h>

#define KW_TAG_ERROR UINT32_MAX       /* the world failed: the record is why */
#define KW_TAG_SKIP  (UINT32_MAX - 1) /* the world cannot be built here: why */

struct kw_record {
        uint32_t tag; /* the test's own (a case index), or one of the above */
        uint32_t aux; /* the test's own (an attempt number) */
        uint32_t len; /* bytes that follow */
};

/* ---- in the child ---- */
void kw_report(uint32_t tag, uint32_t aux, const void *p, uint32_t len);
/* Reports a formatted message with tag and ends the child. */
__attribute__((noreturn, format(printf, 2, 3))) void kw_fail(uint32_t tag, const char *fmt, ...);
/* system(cmd), failing the world (KW_TAG_ERROR) unless it exits 0. */
void kw_sh(const char *cmd);
/* An ethtool set command on dev; fails the world with fail_tag. */
void kw_ethtool_set(uint32_t fail_tag, const char *dev, uint32_t cmd, uint32_t val);
/* An AF_PACKET socket bound to dev (all protocols); fails the world. */
int kw_packet_socket(const char *dev);

/* ---- in the test ---- */
struct kw_run {
        int unshare_flags;   /* CLONE_NEWNET, | CLONE_NEWNS */
        void (*world)(void); /* runs in the child */
        /* Takes each record of the test's own tags; data is malloc'd (len + 1
         * bytes) and becomes the callee's. */
        void (*take)(void *ctx, const struct kw_record *r, uint8_t *data);
        void *ctx;
        char error[256]; /* why, after a failure or skip */
};
/* Runs the world to its end. Returns 0, 1 (the world failed: error), or -1
 * (it cannot run here: skip; error says why). ck_asserts on the plumbing. */
int kw_run(struct kw_run *r);

#endif

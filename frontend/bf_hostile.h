/* Hostile mode: one malformed request of a chosen class, sent on demand so
 * the backend's tests can check it answers (or disconnects) and survives. The
 * classes are the checks xen-protocol-notes §3.1 and Linux blkback make. */
#ifndef PVBACK_BF_HOSTILE_H
#define PVBACK_BF_HOSTILE_H

#include <stdbool.h>
#include <stdint.h>

#include "blkfront.h"

enum bf_hostile_class {
        BF_HOSTILE_BAD_OP,
        BF_HOSTILE_ZERO_SEGMENTS,
        BF_HOSTILE_TOO_MANY_SEGMENTS,
        BF_HOSTILE_FIRST_GT_LAST,
        BF_HOSTILE_LAST_SECT_GE8,
        BF_HOSTILE_OUT_OF_RANGE,
        BF_HOSTILE_WRITE_ON_READONLY,
        BF_HOSTILE_BAD_GREF,
        BF_HOSTILE_FOREIGN_GREF,
        BF_HOSTILE_TOO_MANY_INDIRECT_PAGES,
        BF_HOSTILE_REQ_PROD_FAR,
        BF_HOSTILE_NR_CLASSES,
};

enum bf_hostile_outcome {
        BF_HOSTILE_ANSWERED,     /* a response came; see status */
        BF_HOSTILE_DISCONNECTED, /* the backend left Connected */
        BF_HOSTILE_SILENT,       /* neither within the timeout */
};

struct bf_hostile_result {
        enum bf_hostile_outcome outcome;
        int16_t status;    /* BLKIF_RSP_* when answered */
        uint8_t operation; /* echoed */
        int backend_state;
        char detail[160]; /* what exactly was sent */
};

const char *bf_hostile_name(enum bf_hostile_class c);
int bf_hostile_parse(const char *s, enum bf_hostile_class *out);
/* Sends one request of class c on queue 0 and waits up to timeout_ms. */
int bf_hostile_run(struct bf_dev *d, enum bf_hostile_class c, int timeout_ms,
                   struct bf_hostile_result *res);
/* "okay", "error", "eopnotsupp", "status N", "disconnected" or "silent". */
const char *bf_hostile_outcome_name(const struct bf_hostile_result *r, char *buf, size_t len);

#endif

/* pvback-netfront's hostile mode: one malformed (or borderline legal) TX
 * request class on demand, for backend tests, and a report of what the
 * backend answered. Each class is Linux netback's validation case of the
 * same name (xenvif_tx_build_gops, xenvif_count_requests). */
#ifndef PVBACK_NF_HOSTILE_H
#define PVBACK_NF_HOSTILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "netfront.h"

enum nf_hostile_class {
        NF_H_OVERSIZE_SLOT,  /* offset + size > 4096: fatal */
        NF_H_TOO_MANY_SLOTS, /* 22 slots (> fatal_skb_slots 20 after the first): fatal */
        NF_H_MANY_SLOTS,     /* exactly --slots N slots: 19 accepted, 20 dropped */
        NF_H_BAD_GREF,       /* a grant never issued: error response */
        NF_H_FOREIGN_GREF,   /* granted to another domain: error response */
        NF_H_BAD_EXTRA_TYPE, /* extra type >= MAX: fatal */
        NF_H_GSO_NO_SIZE,    /* GSO extra with size 0: fatal */
        NF_H_REQ_PROD_FAR,   /* req_prod far past the ring: fatal */
        NF_H_TINY_SLOTS,     /* header over many tiny slots: legal, accepted */
        NF_H_GSO_SIZE_1,     /* TCP GSO at size 1, then a plain frame: legal, accepted */
        NF_H_UNFINISHED,     /* a frame's first slot, its second a while later: accepted */
        NF_H_COUNT,
};

/* What the backend did, as seen from the guest. */
enum nf_hostile_outcome {
        NF_H_OUT_OKAY,  /* every response NETIF_RSP_OKAY */
        NF_H_OUT_ERROR, /* error/dropped responses, device still connected */
        NF_H_OUT_FATAL, /* no answer, or the backend disconnected / wrote error */
};

struct nf_hostile_report {
        uint32_t slots_sent;
        uint32_t data_slots;
        uint64_t okay, error, dropped;
        bool answered; /* every data slot came back */
        int be_state;
        char be_error[160];
        enum nf_hostile_outcome outcome;
};

/* "oversize-slot" ... or -1. slots-18/19/20 map to MANY_SLOTS with *slots set. */
int nf_hostile_parse(const char *name, uint32_t *slots);
const char *nf_hostile_name(enum nf_hostile_class c);
const char *nf_hostile_outcome_name(enum nf_hostile_outcome o);
/* The class list for --help. */
void nf_hostile_list(FILE *out);

/* Sends the class once on queue 0 and waits up to wait_ms for the answer. */
int nf_hostile_run(struct nf_dev *d, enum nf_hostile_class c, uint32_t slots, int wait_ms,
                   struct nf_hostile_report *r);
void nf_hostile_print(FILE *out, enum nf_hostile_class c, const struct nf_hostile_report *r);

#endif

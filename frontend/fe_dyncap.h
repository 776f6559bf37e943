/* The frontend side of pvback's dynamic capability exchange
 * (xenstore-schema/README.md, "Dynamic capabilities"), shared by netfront
 * and blkfront: when the backend advertises feature-dynamic-capabilities,
 * watch capabilities/generation, read each new set in one transaction, keep
 * a copy, apply what applies, and write capabilities-ack; optionally state a
 * preference. A backend without the feature is served exactly as before.
 * Not for the protocol's own negotiation (nf_features.c, bf_xs.c). */
#ifndef PVBACK_FE_DYNCAP_H
#define PVBACK_FE_DYNCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <xenstore.h>

#define FE_DYNCAP_KEY_MAX 48
#define FE_DYNCAP_VAL_MAX 64
#define FE_DYNCAP_KV_MAX  64

struct fe_dyncap_kv {
        char key[FE_DYNCAP_KEY_MAX]; /* "offload/tso4" */
        char val[FE_DYNCAP_VAL_MAX];
};

struct fe_dyncap {
        char ctx[24];       /* log context: "vif0", "vbd51712" */
        bool enabled;       /* the user lets this frontend take part */
        const char *prefer; /* "latency" | "throughput" | "default", or NULL */
        FILE *report;       /* NULL, or where each applied change is printed */
        /* Set by fe_dyncap_start. */
        bool offered; /* the backend wrote feature-dynamic-capabilities=1 */
        bool watching;
        bool announced; /* the preference is written (fe_dyncap_announce) */
        char fe_dir[128], be_dir[160];
        /* The last set applied and acknowledged. */
        uint64_t generation;
        uint64_t applied; /* sets applied since the start */
        struct fe_dyncap_kv kv[FE_DYNCAP_KV_MAX];
        size_t n;
        size_t coalesce_keys; /* keys under coalesce/ in that set */
        char last_error[96];  /* why the last read failed, "" when it did not */
};

/* @prefer must be one of the three names or NULL (fe_dyncap_pref_ok). */
void fe_dyncap_init(struct fe_dyncap *c, const char *ctx, bool enabled, const char *prefer,
                    FILE *report);
bool fe_dyncap_pref_ok(const char *prefer);
/* Before the frontend switches to Connected: with the feature offered
 * (and enabled), writes the preference, so that the backend's first
 * generation already follows it. Optional; 0 or -errno. */
int fe_dyncap_announce(struct fe_dyncap *c, struct xs_handle *xs, const char *fe_dir,
                       const char *be_dir);
/* Once the backend is Connected: looks for the feature; with it (and
 * enabled) writes the preference, watches capabilities/generation and
 * applies the current set. Returns 0 (also without the feature) or -errno. */
int fe_dyncap_start(struct fe_dyncap *c, struct xs_handle *xs, const char *fe_dir,
                    const char *be_dir);
/* After any xenstore event: applies and acknowledges a new generation.
 * Returns 1 when one was applied, 0 when nothing changed, -errno when the
 * set could not be read (the previous one stays; the next event retries). */
int fe_dyncap_poll(struct fe_dyncap *c, struct xs_handle *xs);
void fe_dyncap_stop(struct fe_dyncap *c, struct xs_handle *xs);
/* The applied value of "section/key", or NULL. */
const char *fe_dyncap_get(const struct fe_dyncap *c, const char *key);
/* One line for the negotiated summary: "dynamic-capabilities: ...". */
void fe_dyncap_print(const struct fe_dyncap *c, FILE *out);

#endif

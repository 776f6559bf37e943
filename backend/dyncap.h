/* The dynamic capability exchange's common core (xenstore-schema/README.md,
 * "Dynamic capabilities"): a device's current capabilities as key/value
 * pairs that per-section builders fill, published under
 * <backend>/capabilities with a generation number only when something
 * changed, and the frontend's acknowledgement and preference, validated.
 * The classes' sections live in netback/nb_dyncap.c and blkback/bb_dyncap.c.
 * dyncap.c is pure (sets, diffs, parsers); dyncap_pub.c does the xenstore
 * and JSON work, on the control thread only. */
#ifndef PVBACK_DYNCAP_H
#define PVBACK_DYNCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenstore.h>

struct json_object;

/* "<section>/<key>" and its value, as written below capabilities/. */
#define DYNCAP_KEY_MAX 48
#define DYNCAP_VAL_MAX 64
#define DYNCAP_KV_MAX  64
/* Longest capabilities-ack a frontend may write: UINT64_MAX's 20 digits. */
#define DYNCAP_ACK_DIGITS_MAX 20

struct dyncap_kv {
        char key[DYNCAP_KEY_MAX];
        char val[DYNCAP_VAL_MAX];
};

/* A device's capabilities in the order the builders added them. err is
 * sticky: the first key that did not fit (-E2BIG: too many, -ENAMETOOLONG:
 * name or value too long, -EINVAL: a bad name) fails the whole build, so a
 * half set is never published. */
struct dyncap_set {
        struct dyncap_kv kv[DYNCAP_KV_MAX];
        size_t n;
        int err;
};

void dyncap_set_init(struct dyncap_set *s);
/* Adds section/key = printf(fmt, ...). Names are [a-z0-9-] only: they become
 * xenstore path elements. */
void dyncap_add(struct dyncap_set *s, const char *section, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The value of "section/key", or NULL. */
const char *dyncap_get(const struct dyncap_set *s, const char *key);

/* Whether publishing @next over @cur changes anything a frontend can read:
 * a key added, removed, or with another value (order does not matter). */
bool dyncap_differs(const struct dyncap_set *cur, const struct dyncap_set *next);

/* One section: the directory under capabilities/ and the builder that adds
 * its keys for a device (@dev is the class's device state). A builder that
 * adds nothing leaves the section out. */
struct dyncap_section {
        const char *name;
        void (*build)(const void *dev, const char *section, struct dyncap_set *out);
};

/* Runs every builder into @out (initialised here). 0 or the set's error. */
int dyncap_build(const struct dyncap_section *secs, size_t n, const void *dev,
                 struct dyncap_set *out);

/* ---- what the frontend writes (hostile input) ----------------------------- */

enum dyncap_pref {
        DYNCAP_PREF_DEFAULT,
        DYNCAP_PREF_LATENCY,
        DYNCAP_PREF_THROUGHPUT,
};

/* "latency", "throughput" or "default"; -EINVAL for anything else. */
int dyncap_parse_pref(const char *s, enum dyncap_pref *out);
const char *dyncap_pref_name(enum dyncap_pref p);

/* capabilities-ack: decimal digits only (no sign, space or leading zero
 * other than "0"), at most DYNCAP_ACK_DIGITS_MAX of them: -EINVAL; a
 * generation above @published (one never published): -ERANGE. */
int dyncap_parse_ack(const char *s, uint64_t published, uint64_t *out);

/* Lines a frontend can trigger: a burst per window, then only counted. */
struct dyncap_ratelimit {
        uint64_t window_start_ns;
        uint32_t printed;
        uint64_t suppressed;
};
bool dyncap_ratelimit_ok(struct dyncap_ratelimit *rl, uint64_t now_ns);

/* ---- one device's exchange (dyncap_pub.c, control thread) ------------------ */

struct dyncap {
        char ctx[40];      /* log context: "vif5.0" */
        char be_path[128]; /* the device's backend directory */
        char fe_path[128];
        /* Last published generation; 0 before the first. It keeps counting
         * across reconnects of the device, so an ack a previous frontend
         * left behind never names the new connection's generation. */
        uint64_t generation;
        bool live; /* capabilities/ is written for the current connection */
        struct dyncap_set published;
        uint64_t acked; /* the frontend's last valid capabilities-ack */
        enum dyncap_pref pref;
        uint64_t bad_acks, bad_prefs; /* refused frontend values */
        /* Connections whose first set was published (or tried): shown as
         * the device's "connects", so a reader of two `show`s knows the
         * counters restarted in between. */
        uint64_t connects;
        struct dyncap_ratelimit rl;
};

void dyncap_init(struct dyncap *dc, const char *ctx, const char *be_path, const char *fe_path);

/* The publisher's pure rules (dyncap.c): whether @next must go out (nothing
 * live yet, or a key differs; never a set that failed to build); what a
 * committed publish does to the state (@next is live as generation @gen);
 * and forgetting the connection's set while the generation keeps counting. */
bool dyncap_needs_publish(const struct dyncap *dc, const struct dyncap_set *next);
void dyncap_committed(struct dyncap *dc, const struct dyncap_set *next, uint64_t gen);
/* The generation a set goes out with: after our own last one and, for a
 * connection's first set, after @left, what capabilities/generation held
 * before (an earlier pvbackd's, 0 when none; 0 for later sets). A frontend
 * that applied generation N of a previous daemon ignores a new N, so the
 * count never restarts. Saturates at UINT64_MAX rather than wrap. */
uint64_t dyncap_next_generation(uint64_t own, uint64_t left);
void dyncap_forget(struct dyncap *dc);

/* Probe: feature-dynamic-capabilities = 1 in the backend directory. */
int dyncap_advertise(struct dyncap *dc, struct xs_handle *xs);
/* Publishes @next if it differs from what is published (or nothing is):
 * changed keys written, vanished ones removed, generation + 1, all in one
 * transaction (EAGAIN retried). The first publish of a connection also
 * clears leftovers and samples the frontend's preference. Returns 1 when a
 * new generation went out, 0 when nothing changed (or the toolstack is
 * removing the directory), -errno on failure (logged). */
int dyncap_publish(struct dyncap *dc, struct xs_handle *xs, const struct dyncap_set *next);
/* Disconnect: capabilities/ goes (what it said was about that connection). */
void dyncap_withdraw(struct dyncap *dc, struct xs_handle *xs);
/* A frontend key changed (@key relative to the frontend directory): reads
 * and validates capabilities-ack / capabilities-preference. Returns true
 * when @key was one of them (handled, whatever its value). */
bool dyncap_frontend_key(struct dyncap *dc, struct xs_handle *xs, const char *key);
/* The control socket's view: adds "capabilities": {generation, published,
 * acked, preference, rejected_acks, rejected_preferences, sections: {name:
 * {key: value}}}. 0 or -ENOMEM. */
int dyncap_dump(const struct dyncap *dc, struct json_object *obj);

#endif

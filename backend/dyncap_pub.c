/* The xenstore and control-socket half of dyncap.h: one device's
 * capabilities published with a generation, the frontend's acknowledgement
 * and preference read back and validated. Control thread only; a frontend's
 * value never fails the device, it is refused, counted and logged
 * (rate-limited). */
#include "dyncap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_json.h"
#include "log.h"
#include "pv_escape.h"
#include "xb.h"

#define DYNCAP_DIR "capabilities"

static uint64_t dyncap_now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void dyncap_init(struct dyncap *dc, const char *ctx, const char *be_path, const char *fe_path)
{
        memset(dc, 0, sizeof(*dc));
        snprintf(dc->ctx, sizeof(dc->ctx), "%s", ctx);
        snprintf(dc->be_path, sizeof(dc->be_path), "%s", be_path);
        snprintf(dc->fe_path, sizeof(dc->fe_path), "%s", fe_path);
        dyncap_set_init(&dc->published);
}

int dyncap_advertise(struct dyncap *dc, struct xs_handle *xs)
{
        int rc = xb_printf(xs, XBT_NULL, dc->be_path, "feature-dynamic-capabilities", "1");
        if (rc < 0)
                pv_warn(dc->ctx, "writing feature-dynamic-capabilities: %s", strerror(-rc));
        return rc;
}

struct publish_txn {
        struct dyncap *dc;
        const struct dyncap_set *next;
        uint64_t gen;
        bool skipped;
};

static int key_path(char *buf, size_t len, const char *key)
{
        int n = snprintf(buf, len, DYNCAP_DIR "/%s", key);
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int publish_in(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
        struct publish_txn *p = arg;
        const struct dyncap_set *cur = &p->dc->published;
        const char *be = p->dc->be_path;
        char path[DYNCAP_KEY_MAX + sizeof(DYNCAP_DIR) + 1];
        int rc = 0;

        p->skipped = false;
        /* Never recreate a directory the toolstack is removing. */
        if (!xb_exists(xs, t, be, "state")) {
                p->skipped = true;
                return 0;
        }
        /* A connection's first set starts from nothing: whatever an earlier
         * connection (or an earlier pvbackd) left goes in the same commit. */
        if (!p->dc->live) {
                uint64_t left = 0;
                /* Read in this transaction, so no other writer slips in. */
                if (xb_read_uint(xs, t, be, DYNCAP_DIR "/generation", UINT64_MAX - 1, &left) < 0)
                        left = 0;
                p->gen = dyncap_next_generation(p->dc->generation, left);
                rc = xb_rm(xs, t, be, DYNCAP_DIR);
                for (size_t i = 0; rc == 0 && i < p->next->n; i++) {
                        rc = key_path(path, sizeof(path), p->next->kv[i].key);
                        rc = rc ?: xb_printf(xs, t, be, path, "%s", p->next->kv[i].val);
                }
        } else {
                for (size_t i = 0; rc == 0 && i < p->next->n; i++) {
                        const struct dyncap_kv *kv = &p->next->kv[i];
                        const char *old = dyncap_get(cur, kv->key);
                        if (old && !strcmp(old, kv->val))
                                continue;
                        rc = key_path(path, sizeof(path), kv->key);
                        rc = rc ?: xb_printf(xs, t, be, path, "%s", kv->val);
                }
                for (size_t i = 0; rc == 0 && i < cur->n; i++) {
                        if (dyncap_get(p->next, cur->kv[i].key))
                                continue;
                        rc = key_path(path, sizeof(path), cur->kv[i].key);
                        rc = rc ?: xb_rm(xs, t, be, path);
                }
        }
        /* Last in the transaction, so a frontend watching it sees the whole
         * set once the commit lands. */
        return rc ?: xb_printf(xs, t, be, DYNCAP_DIR "/generation", "%" PRIu64, p->gen);
}

/* Reads capabilities-preference as it is now (absent: default). */
static void read_pref(struct dyncap *dc, struct xs_handle *xs)
{
        dyncap_frontend_key(dc, xs, "capabilities-preference");
}

int dyncap_publish(struct dyncap *dc, struct xs_handle *xs, const struct dyncap_set *next)
{
        struct publish_txn p = {
            .dc = dc, .next = next, .gen = dyncap_next_generation(dc->generation, 0)};
        bool first = !dc->live;
        int rc;

        if (next->err) {
                pv_warn(dc->ctx, "capabilities not published: building them failed (%s)",
                        strerror(-next->err));
                return next->err;
        }
        if (!dyncap_needs_publish(dc, next))
                return 0;
        if (first)
                dc->connects++;
        rc = xb_transact(xs, publish_in, &p);
        if (rc < 0) {
                pv_warn(dc->ctx, "publishing capabilities generation %" PRIu64 ": %s", p.gen,
                        strerror(-rc));
                return rc;
        }
        if (p.skipped)
                return 0;
        dyncap_committed(dc, next, p.gen);
        if (first) {
                dc->acked = 0;
                read_pref(dc, xs);
        }
        pv_info(dc->ctx, "capabilities generation %" PRIu64 " published (%zu keys)", p.gen,
                next->n);
        return 1;
}

void dyncap_withdraw(struct dyncap *dc, struct xs_handle *xs)
{
        if (!dc->live)
                return;
        dyncap_forget(dc);
        int rc = xb_rm(xs, XBT_NULL, dc->be_path, DYNCAP_DIR);
        if (rc < 0)
                pv_warn(dc->ctx, "removing %s/" DYNCAP_DIR ": %s", dc->be_path, strerror(-rc));
}

/* A frontend can rewrite its keys as fast as xenstored lets it: a line
 * about any of them, valid or not, is rate-limited. */
static bool dyncap_may_log(struct dyncap *dc)
{
        return dyncap_ratelimit_ok(&dc->rl, dyncap_now_ns());
}

/* A value the frontend made unreadable to us: an embedded NUL (-EINVAL) or
 * permissions that shut us out (-EACCES). Refused like a malformed one. */
static bool refused_read(int rc)
{
        return rc == -EINVAL || rc == -EACCES;
}

static void warn_unreadable(struct dyncap *dc, const char *key, int rc)
{
        if (dyncap_may_log(dc))
                pv_warn(dc->ctx, "frontend %s ignored: %s", key,
                        rc == -EINVAL ? "embedded NUL" : "not readable by the backend");
}

static void handle_ack(struct dyncap *dc, struct xs_handle *xs)
{
        char *s = NULL, shown[40];
        uint64_t v;
        int rc = xb_read_str(xs, XBT_NULL, dc->fe_path, "capabilities-ack", &s);

        if (refused_read(rc)) {
                dc->bad_acks++;
                warn_unreadable(dc, "capabilities-ack", rc);
                return;
        }
        if (rc < 0)
                return; /* removed: the last valid ack stays */
        rc = dyncap_parse_ack(s, dc->generation, &v);
        if (rc < 0) {
                dc->bad_acks++;
                pv_escape(s, shown, sizeof(shown));
                if (dyncap_may_log(dc))
                        pv_warn(dc->ctx,
                                "frontend capabilities-ack \"%s\" ignored: %s (published "
                                "generation %" PRIu64 ")",
                                shown,
                                rc == -ERANGE ? "above the published generation"
                                              : "not a decimal generation",
                                dc->generation);
        } else if (v != dc->acked) {
                dc->acked = v;
                if (dyncap_may_log(dc))
                        pv_info(dc->ctx,
                                "frontend acknowledged capabilities generation %" PRIu64
                                " (current %" PRIu64 ")",
                                v, dc->generation);
        }
        free(s);
}

static void handle_pref(struct dyncap *dc, struct xs_handle *xs)
{
        char *s = NULL, shown[40];
        enum dyncap_pref p = DYNCAP_PREF_DEFAULT;
        int rc = xb_read_str(xs, XBT_NULL, dc->fe_path, "capabilities-preference", &s);

        if (rc == 0 && dyncap_parse_pref(s, &p) < 0) {
                dc->bad_prefs++;
                pv_escape(s, shown, sizeof(shown));
                if (dyncap_may_log(dc))
                        pv_warn(dc->ctx,
                                "frontend capabilities-preference \"%s\" ignored: expected "
                                "latency, throughput or default",
                                shown);
                free(s);
                return;
        }
        free(s);
        if (refused_read(rc)) {
                dc->bad_prefs++;
                warn_unreadable(dc, "capabilities-preference", rc);
                return;
        }
        if (rc < 0 && rc != -ENOENT)
                return;
        if (p != dc->pref && dyncap_may_log(dc))
                pv_info(dc->ctx, "frontend prefers %s (was %s)", dyncap_pref_name(p),
                        dyncap_pref_name(dc->pref));
        dc->pref = p;
}

bool dyncap_frontend_key(struct dyncap *dc, struct xs_handle *xs, const char *key)
{
        if (!strcmp(key, "capabilities-ack")) {
                handle_ack(dc, xs);
                return true;
        }
        if (!strcmp(key, "capabilities-preference")) {
                handle_pref(dc, xs);
                return true;
        }
        return false;
}

/* "offload/tso4" = "sw" goes to sections.offload.tso4. */
static int dump_kv(struct json_object *sections, const struct dyncap_kv *kv)
{
        char sec[DYNCAP_KEY_MAX];
        const char *slash = strchr(kv->key, '/');
        struct json_object *s;
        size_t n;

        if (!slash)
                return 0;
        n = (size_t)(slash - kv->key);
        memcpy(sec, kv->key, n);
        sec[n] = '\0';
        if (!json_object_object_get_ex(sections, sec, &s) && !(s = ctl_json_child(sections, sec)))
                return -ENOMEM;
        return ctl_json_str(s, slash + 1, kv->val);
}

int dyncap_dump(const struct dyncap *dc, struct json_object *obj)
{
        struct json_object *c = ctl_json_child(obj, "capabilities"), *sections;
        int rc;

        if (!c)
                return -ENOMEM;
        rc = ctl_json_u64(obj, "connects", dc->connects);
        rc = rc ?: ctl_json_u64(c, "generation", dc->generation);
        rc = rc ?: ctl_json_bool(c, "published", dc->live);
        rc = rc ?: ctl_json_u64(c, "acked", dc->acked);
        rc = rc ?: ctl_json_str(c, "preference", dyncap_pref_name(dc->pref));
        rc = rc ?: ctl_json_u64(c, "rejected_acks", dc->bad_acks);
        rc = rc ?: ctl_json_u64(c, "rejected_preferences", dc->bad_prefs);
        if (rc)
                return rc;
        if (!(sections = ctl_json_child(c, "sections")))
                return -ENOMEM;
        for (size_t i = 0; rc == 0 && i < dc->published.n; i++)
                rc = dump_kv(sections, &dc->published.kv[i]);
        return rc;
}

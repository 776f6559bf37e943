/* Implementation of fe_dyncap.h. The backend's values are bounded like any
 * peer's: at most FE_DYNCAP_KV_MAX keys, names and values that fit. Any
 * generation other than the one applied is a new set: a lower one comes
 * from a restarted backend (which counts on from the last one it finds, but
 * may find none after the toolstack removed the directory). */
#include "fe_dyncap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xb.h"

#define FE_DYNCAP_TXN_RETRIES 8

static const char *const fe_dyncap_prefs[] = {"latency", "throughput", "default"};

bool fe_dyncap_pref_ok(const char *prefer)
{
        for (size_t i = 0; prefer && i < sizeof(fe_dyncap_prefs) / sizeof(fe_dyncap_prefs[0]); i++)
                if (!strcmp(prefer, fe_dyncap_prefs[i]))
                        return true;
        return false;
}

void fe_dyncap_init(struct fe_dyncap *c, const char *ctx, bool enabled, const char *prefer,
                    FILE *report)
{
        memset(c, 0, sizeof(*c));
        snprintf(c->ctx, sizeof(c->ctx), "%s", ctx);
        c->enabled = enabled;
        c->prefer = fe_dyncap_pref_ok(prefer) ? prefer : NULL;
        c->report = report;
}

const char *fe_dyncap_get(const struct fe_dyncap *c, const char *key)
{
        for (size_t i = 0; i < c->n; i++)
                if (!strcmp(c->kv[i].key, key))
                        return c->kv[i].val;
        return NULL;
}

/* One snapshot of capabilities/: generation and every section's keys. */
struct fe_dyncap_snap {
        uint64_t generation;
        struct fe_dyncap_kv kv[FE_DYNCAP_KV_MAX];
        size_t n;
};

static int read_section(struct xs_handle *xs, xs_transaction_t t, const char *base, const char *sec,
                        struct fe_dyncap_snap *s)
{
        char path[320];
        unsigned int nkeys = 0;
        snprintf(path, sizeof(path), "%s/%s", base, sec);
        char **keys = xs_directory(xs, t, path, &nkeys);
        if (!keys)
                return errno == ENOENT ? 0 : -errno;
        int rc = 0;
        for (unsigned i = 0; rc == 0 && i < nkeys; i++) {
                struct fe_dyncap_kv *kv = &s->kv[s->n];
                char kpath[400];
                unsigned int len = 0;
                if (s->n == FE_DYNCAP_KV_MAX) {
                        rc = -E2BIG;
                        break;
                }
                if ((size_t)snprintf(kv->key, sizeof(kv->key), "%s/%s", sec, keys[i]) >=
                    sizeof(kv->key))
                        continue; /* not a key this frontend knows */
                snprintf(kpath, sizeof(kpath), "%s/%s", path, keys[i]);
                char *v = xs_read(xs, t, kpath, &len);
                if (!v) {
                        rc = errno == ENOENT ? 0 : -errno;
                        continue;
                }
                if (len < sizeof(kv->val) && strlen(v) == len) {
                        memcpy(kv->val, v, len + 1);
                        s->n++;
                }
                free(v);
        }
        free(keys);
        return rc;
}

static int read_snapshot_in(struct xs_handle *xs, xs_transaction_t t, const char *be_dir,
                            struct fe_dyncap_snap *s)
{
        char base[200];
        unsigned int nsec = 0;
        snprintf(base, sizeof(base), "%s/capabilities", be_dir);
        s->n = 0;
        int rc = xb_read_uint(xs, t, base, "generation", UINT64_MAX, &s->generation);
        if (rc < 0)
                return rc;
        char **secs = xs_directory(xs, t, base, &nsec);
        if (!secs)
                return -errno;
        for (unsigned i = 0; rc == 0 && i < nsec; i++)
                if (strcmp(secs[i], "generation"))
                        rc = read_section(xs, t, base, secs[i], s);
        free(secs);
        return rc;
}

static int read_snapshot(struct xs_handle *xs, const char *be_dir, struct fe_dyncap_snap *s)
{
        for (int i = 0; i < FE_DYNCAP_TXN_RETRIES; i++) {
                xs_transaction_t t = xs_transaction_start(xs);
                if (t == XBT_NULL)
                        return -errno;
                int rc = read_snapshot_in(xs, t, be_dir, s);
                if (rc < 0) {
                        xs_transaction_end(xs, t, true);
                        return rc;
                }
                if (xs_transaction_end(xs, t, false))
                        return 0;
                if (errno != EAGAIN)
                        return -errno;
        }
        return -EAGAIN;
}

/* Prints what changed between the applied set and @s. */
static void report_changes(const struct fe_dyncap *c, const struct fe_dyncap_snap *s)
{
        if (!c->report)
                return;
        unsigned shown = 0;
        fprintf(c->report, "capabilities: generation %" PRIu64 " (%zu keys)", s->generation, s->n);
        for (size_t i = 0; i < s->n; i++) {
                const char *old = fe_dyncap_get(c, s->kv[i].key);
                if (old && !strcmp(old, s->kv[i].val))
                        continue;
                fprintf(c->report, "%s %s %s%s%s", shown++ ? "," : ":", s->kv[i].key,
                        old ? old : "", old ? "->" : "", s->kv[i].val);
        }
        for (size_t i = 0; i < c->n; i++) {
                bool kept = false;
                for (size_t j = 0; j < s->n && !kept; j++)
                        kept = !strcmp(c->kv[i].key, s->kv[j].key);
                if (!kept)
                        fprintf(c->report, "%s %s removed", shown++ ? "," : ":", c->kv[i].key);
        }
        fputc('\n', c->report);
        fflush(c->report);
}

/* What applies of a set here: the coalesce/ section is counted (the
 * netfront reads its hints through fe_dyncap_get, blkback publishes none);
 * offloads, queues and limits are the connection's and only change with a
 * reconnect. */
static void apply(struct fe_dyncap *c)
{
        c->coalesce_keys = 0;
        for (size_t i = 0; i < c->n; i++)
                if (!strncmp(c->kv[i].key, "coalesce/", 9))
                        c->coalesce_keys++;
        if (c->coalesce_keys)
                pv_debug(c->ctx, "coalescing hints in generation %" PRIu64 ": %zu keys kept",
                         c->generation, c->coalesce_keys);
}

int fe_dyncap_poll(struct fe_dyncap *c, struct xs_handle *xs)
{
        struct fe_dyncap_snap *s;
        uint64_t gen = 0;
        int rc;

        if (!c->watching)
                return 0;
        rc = xb_read_uint(xs, XBT_NULL, c->be_dir, "capabilities/generation", UINT64_MAX, &gen);
        /* Absent (not yet published, or withdrawn) or the one applied:
         * nothing. A lower one is a restarted backend's: followed. */
        if (rc < 0 || gen == c->generation)
                return 0;
        if (!(s = malloc(sizeof(*s))))
                return -ENOMEM;
        rc = read_snapshot(xs, c->be_dir, s);
        if (rc < 0 || s->generation == c->generation) {
                if (rc < 0) {
                        snprintf(c->last_error, sizeof(c->last_error),
                                 "reading capabilities generation %" PRIu64 ": %s", gen,
                                 strerror(-rc));
                        pv_warn(c->ctx, "%s", c->last_error);
                }
                free(s);
                return rc < 0 ? rc : 0;
        }
        report_changes(c, s);
        c->generation = s->generation;
        c->n = s->n;
        memcpy(c->kv, s->kv, s->n * sizeof(s->kv[0]));
        free(s);
        c->applied++;
        c->last_error[0] = '\0';
        apply(c);
        rc = xb_printf(xs, XBT_NULL, c->fe_dir, "capabilities-ack", "%" PRIu64, c->generation);
        if (rc < 0) {
                pv_warn(c->ctx, "writing capabilities-ack: %s", strerror(-rc));
                return rc;
        }
        pv_debug(c->ctx, "capabilities generation %" PRIu64 " applied and acknowledged",
                 c->generation);
        return 1;
}

static bool offered(struct xs_handle *xs, const char *be_dir)
{
        bool on = false;
        if (xb_read_bool_default(xs, XBT_NULL, be_dir, "feature-dynamic-capabilities", false, &on) <
            0)
                return false;
        return on;
}

int fe_dyncap_announce(struct fe_dyncap *c, struct xs_handle *xs, const char *fe_dir,
                       const char *be_dir)
{
        int rc;
        if (!c->enabled || !c->prefer || c->announced || !offered(xs, be_dir))
                return 0;
        if ((rc = xb_printf(xs, XBT_NULL, fe_dir, "capabilities-preference", "%s", c->prefer)) < 0)
                return rc;
        c->announced = true;
        return 0;
}

int fe_dyncap_start(struct fe_dyncap *c, struct xs_handle *xs, const char *fe_dir,
                    const char *be_dir)
{
        char path[200];
        int rc;

        snprintf(c->fe_dir, sizeof(c->fe_dir), "%s", fe_dir);
        snprintf(c->be_dir, sizeof(c->be_dir), "%s", be_dir);
        c->offered = offered(xs, be_dir);
        if (!c->enabled || !c->offered)
                return 0;
        if ((rc = fe_dyncap_announce(c, xs, fe_dir, be_dir)) < 0)
                return rc;
        snprintf(path, sizeof(path), "%s/capabilities/generation", be_dir);
        if (!xs_watch(xs, path, "fe-dyncap"))
                return -errno;
        c->watching = true;
        rc = fe_dyncap_poll(c, xs);
        return rc < 0 ? rc : 0;
}

void fe_dyncap_stop(struct fe_dyncap *c, struct xs_handle *xs)
{
        char path[200];
        if (!c->watching)
                return;
        snprintf(path, sizeof(path), "%s/capabilities/generation", c->be_dir);
        xs_unwatch(xs, path, "fe-dyncap");
        c->announced = false;
        c->watching = false;
}

void fe_dyncap_print(const struct fe_dyncap *c, FILE *out)
{
        if (!c->enabled)
                fprintf(out, "dynamic-capabilities: off (not implemented by request)\n");
        else if (!c->offered)
                fprintf(out, "dynamic-capabilities: off (backend lacks it)\n");
        else if (!c->generation)
                fprintf(out, "dynamic-capabilities: on, no generation acknowledged%s%s\n",
                        c->last_error[0] ? ": " : "", c->last_error);
        else
                fprintf(out,
                        "dynamic-capabilities: on, generation %" PRIu64 " acknowledged (%" PRIu64
                        " set%s applied), preference %s\n",
                        c->generation, c->applied, c->applied == 1 ? "" : "s",
                        c->prefer ? c->prefer : "not stated");
}

/* netback's runtime settings: the be_class `set` hook behind the control
 * socket's `set TARGET KEY VALUE`. One table row per key: how its value is
 * parsed, and how it is applied to a vif (on the control thread; the queues
 * get their copy through worker_call). A key family (coalesce.*, qos.*)
 * adds rows and, if it needs them, a parser and an apply function. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "netback/nb_dyncap.h"
#include "netback/nb_qos.h"
#include "netback/nb_vif.h"
#include "worker.h"
#include "xb.h"

union nb_set_val {
        enum nb_coal_mode mode;
        bool on;
        uint64_t u;
};

struct nb_set_key;
typedef int (*nb_set_parse_fn)(const struct nb_set_key *k, const char *value, union nb_set_val *out,
                               char *err, size_t errlen);
/* vif NULL: the default for vifs probed from now on (target "vif"). */
typedef int (*nb_set_apply_fn)(const struct nb_set_key *k, struct nb_vif *vif,
                               const union nb_set_val *v, char *err, size_t errlen);

struct nb_set_key {
        const char *key;
        nb_set_parse_fn parse;
        nb_set_apply_fn apply;
        uint64_t min, max; /* parse_uint's range */
        /* coalesce.*: the change to a struct nb_coal_cfg */
        void (*edit)(struct nb_coal_cfg *c, const union nb_set_val *v);
};

/* ---- parsers ------------------------------------------------------------- */

static int parse_mode(const struct nb_set_key *k, const char *value, union nb_set_val *out,
                      char *err, size_t errlen)
{
        if (nb_coal_mode_parse(value, &out->mode) == 0)
                return 0;
        snprintf(err, errlen, "%s=%s: expected off, fixed or adaptive", k->key, value);
        return -EINVAL;
}

static int parse_onoff(const struct nb_set_key *k, const char *value, union nb_set_val *out,
                       char *err, size_t errlen)
{
        if (!strcmp(value, "on") || !strcmp(value, "off")) {
                out->on = !strcmp(value, "on");
                return 0;
        }
        snprintf(err, errlen, "%s=%s: expected on or off", k->key, value);
        return -EINVAL;
}

static int parse_uint(const struct nb_set_key *k, const char *value, union nb_set_val *out,
                      char *err, size_t errlen)
{
        if (xb_parse_uint(value, k->max, &out->u) == 0 && out->u >= k->min)
                return 0;
        snprintf(err, errlen, "%s=%s: expected an integer from %" PRIu64 " to %" PRIu64, k->key,
                 value, k->min, k->max);
        return -ERANGE;
}

/* ---- coalesce.* ---------------------------------------------------------- */

static struct nb_coal_cfg nb_coal_defaults;
static bool nb_coal_defaults_set;

/* What -o vif.coalesce and `set vif coalesce...` made the default. */
void nb_coal_default_cfg(struct nb_coal_cfg *out)
{
        if (!nb_coal_defaults_set) {
                nb_coal_cfg_default(&nb_coal_defaults);
                nb_coal_defaults_set = true;
        }
        *out = nb_coal_defaults;
}

static void edit_all(struct nb_coal_cfg *c, const union nb_set_val *v)
{
        nb_coal_cfg_set_all(c, v->mode);
}
static void edit_l2(struct nb_coal_cfg *c, const union nb_set_val *v)
{
        c->l2 = (uint8_t)v->mode;
}
static void edit_l2_poll(struct nb_coal_cfg *c, const union nb_set_val *v)
{
        c->l2_poll_us = (uint32_t)v->u;
}
static void edit_l2_budget(struct nb_coal_cfg *c, const union nb_set_val *v)
{
        c->l2_budget = (uint32_t)v->u;
}
static void edit_l3(struct nb_coal_cfg *c, const union nb_set_val *v)
{
        c->l3 = (uint8_t)v->mode;
}
static void edit_l3_frames(struct nb_coal_cfg *c, const union nb_set_val *v)
{
        c->l3_frames = (uint32_t)v->u;
}
static void edit_l3_usecs(struct nb_coal_cfg *c, const union nb_set_val *v)
{
        c->l3_usecs = (uint32_t)v->u;
}
static void edit_l4(struct nb_coal_cfg *c, const union nb_set_val *v)
{
        c->l4 = v->on;
}

int nb_set_coal_push(struct nb_vif *vif, const struct nb_coal_cfg *cfg, char *err, size_t errlen)
{
        struct nb_coal_update u = {.cfg = *cfg};
        int rc = 0;

        vif->coal = u.cfg;
        for (uint32_t i = 0; vif->connected && i < vif->nr_queues; i++) {
                u.q = &vif->queues[i];
                if (u.q->w && worker_call(u.q->w, nb_queue_set_coal, &u) < 0 && rc == 0) {
                        rc = -ENOMEM;
                        snprintf(err, errlen, "%s: LRO could not be switched on (out of memory)",
                                 u.q->ctx);
                }
        }
        return rc;
}

static int apply_coal(const struct nb_set_key *k, struct nb_vif *vif, const union nb_set_val *v,
                      char *err, size_t errlen)
{
        struct nb_coal_update u;
        int rc;

        if (!vif) {
                /* The default of vifs to come: nothing running changes, so
                 * nothing republishes. */
                nb_coal_default_cfg(&u.cfg);
                k->edit(&u.cfg, v);
                nb_coal_defaults = u.cfg;
                return 0;
        }
        u.cfg = vif->coal;
        k->edit(&u.cfg, v);
        /* An explicit L3 on the vif outranks the guest's preference; the
         * other keys keep the mode in force. */
        if (k->edit == edit_all || k->edit == edit_l3)
                nb_dyncap_coal_admin(vif, u.cfg.l3);
        u.cfg.l3 = nb_dyncap_coal_l3(vif, u.cfg.l3);
        rc = nb_set_coal_push(vif, &u.cfg, err, errlen);
        if (rc == 0)
                pv_info(vif->dev->name,
                        "coalescing: l2 %s (poll %" PRIu32 " us, budget %" PRIu32
                        "), l3 %s (%" PRIu32 " frames, %" PRIu32 " us), l4 %s",
                        nb_coal_mode_str(u.cfg.l2), u.cfg.l2_poll_us, u.cfg.l2_budget,
                        nb_coal_mode_str(u.cfg.l3), u.cfg.l3_frames, u.cfg.l3_usecs,
                        u.cfg.l4 ? "on" : "off");
        /* The frontend sees vif->coal as it now is, also after a queue
         * failed to start LRO (nothing when it did not change: the
         * publisher skips an unchanged set). */
        nb_dyncap_changed(vif);
        return rc;
}

/* ---- the table ----------------------------------------------------------- */

static const struct nb_set_key nb_set_keys[] = {
    {"coalesce", parse_mode, apply_coal, 0, 0, edit_all},
    {"coalesce.l2", parse_mode, apply_coal, 0, 0, edit_l2},
    {"coalesce.l2.poll-us", parse_uint, apply_coal, 0, NB_COAL_POLL_US_MAX, edit_l2_poll},
    {"coalesce.l2.budget", parse_uint, apply_coal, NB_COAL_BUDGET_MIN, NB_COAL_BUDGET_MAX,
     edit_l2_budget},
    {"coalesce.l3", parse_mode, apply_coal, 0, 0, edit_l3},
    {"coalesce.l3.frames", parse_uint, apply_coal, 1, NB_COAL_FRAMES_MAX, edit_l3_frames},
    {"coalesce.l3.usecs", parse_uint, apply_coal, 1, NB_COAL_USECS_MAX, edit_l3_usecs},
    {"coalesce.l4", parse_onoff, apply_coal, 0, 0, edit_l4},
};

#define NB_SET_NKEYS (sizeof(nb_set_keys) / sizeof(nb_set_keys[0]))

static const struct nb_set_key *find_key(const char *key)
{
        for (size_t i = 0; i < NB_SET_NKEYS; i++)
                if (!strcmp(nb_set_keys[i].key, key))
                        return &nb_set_keys[i];
        return NULL;
}

static void list_keys(char *err, size_t errlen, const char *key)
{
        size_t n = (size_t)snprintf(err, errlen, "unknown key %.32s; known:", key);
        for (size_t i = 0; i < NB_SET_NKEYS && n < errlen; i++)
                n += (size_t)snprintf(err + n, errlen - n, " %s", nb_set_keys[i].key);
        if (n < errlen)
                snprintf(err + n, errlen - n, "; %s", nb_qos_vif_keys);
}

/* One value for the vif's running queues and later connects; with dev NULL
 * and target "vif", the default of vifs to come. */
int nb_set(struct be_dev *dev, const char *target, const char *key, const char *value, char *err,
           size_t errlen)
{
        const struct nb_set_key *k;
        union nb_set_val v;
        int rc;

        /* QoS owns its keys and the uplinks' (nb_qos.c); what it changed
         * is republished to the vif, or to every vif on the uplink. */
        if ((dev && !strncmp(key, "qos.", 4)) || (!dev && !strncmp(target, "uplink:", 7))) {
                rc = nb_qos_set(dev, target, key, value, err, errlen);
                if (rc == 0 && dev && dev->priv)
                        nb_dyncap_changed(dev->priv);
                else if (rc == 0 && !dev)
                        nb_dyncap_uplink_changed(target + strlen("uplink:"));
                return rc;
        }
        if (!dev && strcmp(target, "vif"))
                return -ENODEV;
        if (dev && !dev->priv) {
                snprintf(err, errlen, "%s is not set up", dev->name);
                return -EBUSY;
        }
        if (!(k = find_key(key))) {
                list_keys(err, errlen, key);
                return -ENOENT;
        }
        if ((rc = k->parse(k, value, &v, err, errlen)) < 0)
                return rc;
        return k->apply(k, dev ? dev->priv : NULL, &v, err, errlen);
}

/* `-o vif.coalesce=MODE`: the default of every vif. */
int nb_set_option(const char *key, const char *value)
{
        char err[160] = "";
        const struct nb_set_key *k = find_key(key);
        union nb_set_val v;
        int rc;

        if (!k)
                return -ENOENT;
        rc = k->parse(k, value, &v, err, sizeof(err));
        rc = rc ?: k->apply(k, NULL, &v, err, sizeof(err));
        if (rc < 0)
                pv_err("vif", "%s", err);
        return rc;
}

/* Implementation of nbstats.h: one request on the control socket, the JSON
 * answer walked by the same field names nb_dump.c writes. */
#include "nbstats.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"
#include "nbctl.h"

struct field {
        const char *path; /* under a queue's "stats" */
        size_t off;
};

/* clang-format off */
#define Q(f)    {#f, offsetof(struct nb_queue_stats, f)}
#define P(s, f) {#s "." #f, offsetof(struct nb_queue_stats, s.f)}
/* clang-format on */

static const struct field fields[] = {
    Q(tx_packets),          Q(tx_bytes),
    Q(tx_gcopy_calls),      Q(tx_gcopy_segs),
    Q(tx_events),           Q(tx_notify),
    Q(tx_drop_parse),       Q(tx_drop_offload),
    Q(tx_drop_uplink),      Q(tx_mcast_ok),
    Q(tx_mcast_err),        Q(tx_credit_waits),
    Q(rx_packets),          Q(rx_bytes),
    Q(rx_gcopy_calls),      Q(rx_gcopy_segs),
    Q(rx_events),           Q(rx_notify),
    Q(rx_gcopy_errors),     Q(rx_drop_mcast),
    Q(rx_drop_size),        Q(rx_drop_gso),
    Q(rx_drop_stall),       Q(rx_stalls),
    Q(rx_hashed),           Q(rx_steered),
    Q(rx_steered_in),       Q(rx_drop_steer),
    P(tx_off, gso_pass),    P(tx_off, gso_sw),
    P(tx_off, gso_sw_segs), P(tx_off, csum_pass),
    P(tx_off, csum_sw),     P(tx_off, linearized),
    P(tx_off, dropped),     P(rx_off, gso_pass),
    P(rx_off, gso_sw),      P(rx_off, gso_sw_segs),
    P(rx_off, csum_pass),   P(rx_off, csum_sw),
    P(rx_off, linearized),  P(rx_off, dropped),
    P(lro, frames),         P(lro, merged),
    P(lro, flows),          P(lro, gso_out),
    P(lro, single_out),     P(lro, hold_ns_max),
    Q(rx_drop_qos),         Q(rx_drop_qos_bytes),
};

#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* Every member is read, or the build stops: a counter added to the struct
 * would otherwise stay zero here and make an "== 0" assertion vacuous. The
 * LRO per-reason arrays are read by name below. */
_Static_assert(sizeof(struct nb_queue_stats) == (NFIELDS + 2 * OFF_LRO_R_COUNT) * sizeof(uint64_t),
               "struct nb_queue_stats has a member nbstats.c does not read");

const char *nbstats_sock(const struct simhost *h, char *buf, size_t len)
{
        char name[64];
        snprintf(name, sizeof(name), CTL_SIM_SOCK_FMT, 0u);
        snprintf(buf, len, "%s/%s", h->dir, name);
        return buf;
}

static int add_counter(struct json_object *stats, const char *path, uint64_t *sum, char *why,
                       size_t whylen)
{
        struct json_object *v = nbctl_member(stats, path);
        if (!v || !json_object_is_type(v, json_type_int)) {
                snprintf(why, whylen, "counter %s missing from pvbackd's answer", path);
                return -EPROTO;
        }
        *sum += json_object_get_uint64(v);
        return 0;
}

static int add_queue(struct json_object *q, struct nb_queue_stats *sum, char *why, size_t whylen)
{
        struct json_object *stats = nbctl_member(q, "stats");
        uint8_t *base = (uint8_t *)sum;
        int rc = 0;

        for (size_t i = 0; rc == 0 && i < NFIELDS; i++)
                rc = add_counter(stats, fields[i].path, (uint64_t *)(base + fields[i].off), why,
                                 whylen);
        for (unsigned r = 0; rc == 0 && r < OFF_LRO_R_COUNT; r++) {
                char path[96];
                const char *name = off_lro_reason_str((enum off_lro_reason)r);
                snprintf(path, sizeof(path), "lro.flush.%s", name);
                rc = add_counter(stats, path, &sum->lro.flush[r], why, whylen);
                snprintf(path, sizeof(path), "lro.pass.%s", name);
                rc = rc ?: add_counter(stats, path, &sum->lro.pass[r], why, whylen);
        }
        return rc;
}

int nbstats_read(const char *sock, const char *dev, struct nbstats *out, char *why, size_t whylen)
{
        char line[CTL_REQ_MAX], *text = NULL;
        struct json_object *root, *d, *v;
        int rc;

        memset(out, 0, sizeof(*out));
        snprintf(line, sizeof(line), "show %s", dev);
        if ((rc = nbctl_ask_text(sock, line, &text, why, whylen)) < 0)
                return rc;
        root = json_tokener_parse(text);
        if (!root) {
                snprintf(why, whylen, "answer to '%s' is not JSON: %.200s", line, text);
                free(text);
                return -EPROTO;
        }
        rc = -EPROTO;
        if ((v = nbctl_member(root, "error.message"))) {
                snprintf(why, whylen, "pvbackd: %s", json_object_get_string(v));
                goto out;
        }
        if (!json_object_object_get_ex(root, "devices", &d) ||
            !json_object_is_type(d, json_type_array) || json_object_array_length(d) != 1) {
                snprintf(why, whylen, "answer to '%s' has no single device: %.200s", line, text);
                goto out;
        }
        d = json_object_array_get_idx(d, 0);
        if ((v = nbctl_member(d, "connected")))
                out->connected = json_object_get_boolean(v);
        if ((v = nbctl_member(d, "uplink.tx_caps")))
                snprintf(out->tx_caps, sizeof(out->tx_caps), "%s", json_object_get_string(v));
        if (out->connected) {
                static const struct {
                        const char *path;
                        size_t off;
                } neg[] = {
                    {"negotiated.sg", offsetof(struct nbstats, neg.sg)},
                    {"negotiated.gso_tcpv4", offsetof(struct nbstats, neg.gso_tcpv4)},
                    {"negotiated.gso_tcpv6", offsetof(struct nbstats, neg.gso_tcpv6)},
                    {"negotiated.csum_ipv4", offsetof(struct nbstats, neg.csum_ipv4)},
                    {"negotiated.csum_ipv6", offsetof(struct nbstats, neg.csum_ipv6)},
                };
                for (size_t i = 0; i < sizeof(neg) / sizeof(neg[0]); i++) {
                        if (!(v = nbctl_member(d, neg[i].path)) ||
                            !json_object_is_type(v, json_type_boolean)) {
                                snprintf(why, whylen, "%s missing from pvbackd's answer",
                                         neg[i].path);
                                goto out;
                        }
                        *(bool *)((char *)out + neg[i].off) = json_object_get_boolean(v);
                }
        }
        rc = 0;
        if (json_object_object_get_ex(d, "queues", &v) && json_object_is_type(v, json_type_array)) {
                out->queues = (unsigned)json_object_array_length(v);
                for (unsigned i = 0; rc == 0 && i < out->queues; i++)
                        rc = add_queue(json_object_array_get_idx(v, i), &out->sum, why, whylen);
        }
out:
        json_object_put(root);
        free(text);
        return rc;
}

void nbstats_delta(const struct nbstats *before, const struct nbstats *after,
                   struct nb_queue_stats *d)
{
        const uint64_t *a = (const uint64_t *)&after->sum, *b = (const uint64_t *)&before->sum;
        uint64_t *o = (uint64_t *)d;

        for (size_t i = 0; i < sizeof(*d) / sizeof(uint64_t); i++)
                o[i] = a[i] - b[i];
        d->lro.hold_ns_max = after->sum.lro.hold_ns_max;
}

/* pvback-inspect's text: a `show` answer as an operator reads it, a few
 * lines per device (what was negotiated, its QoS, then each queue's
 * traffic, offload paths and coalescing levels), and the xenstore-only
 * view for when pvbackd is down. Everything the daemon sends is in --json;
 * this picks. Members it has no layout for (capabilities, whatever a newer
 * daemon adds) are printed generically as indented "key value" lines.
 * Missing numbers read as zero, rates as "?" (null: "unlimited"); a member
 * of an unexpected type reads as missing; every string is printed with its
 * control bytes escaped (a guest wrote some of them). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "pv_escape.h"

static struct json_object *member(struct json_object *obj, const char *key)
{
        struct json_object *v = NULL;
        return obj && json_object_object_get_ex(obj, key, &v) ? v : NULL;
}

/* The member when it has the type the layout expects, else NULL. */
static struct json_object *member_obj(struct json_object *obj, const char *key)
{
        struct json_object *v = member(obj, key);
        return v && json_object_is_type(v, json_type_object) ? v : NULL;
}

static struct json_object *member_arr(struct json_object *obj, const char *key)
{
        struct json_object *v = member(obj, key);
        return v && json_object_is_type(v, json_type_array) ? v : NULL;
}

static size_t arr_len(struct json_object *arr)
{
        return arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
}

static size_t obj_len(struct json_object *obj)
{
        return obj && json_object_is_type(obj, json_type_object)
                   ? (size_t)json_object_object_length(obj)
                   : 0;
}

static uint64_t num(struct json_object *obj, const char *key)
{
        struct json_object *v = member(obj, key);
        return v && json_object_is_type(v, json_type_int) ? json_object_get_uint64(v) : 0;
}

static const char *str(struct json_object *obj, const char *key)
{
        struct json_object *v = member(obj, key);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "?";
}

static bool flag(struct json_object *obj, const char *key)
{
        return json_object_get_boolean(member(obj, key));
}

static const char *on(struct json_object *obj, const char *key)
{
        return flag(obj, key) ? "on" : "off";
}

static bool listed(const char *const *names, const char *key)
{
        for (unsigned i = 0; names[i]; i++)
                if (!strcmp(names[i], key))
                        return true;
        return false;
}

/* ---- members without a layout of their own ------------------------------- */

static void print_scalar(FILE *out, struct json_object *v)
{
        if (!v)
                fputs("none", out);
        else if (json_object_is_type(v, json_type_boolean))
                fputs(json_object_get_boolean(v) ? "on" : "off", out);
        else if (json_object_is_type(v, json_type_double))
                fprintf(out, "%.6g", json_object_get_double(v));
        else if (json_object_is_type(v, json_type_string) && !json_object_get_string_len(v))
                fputs("\"\"", out);
        else
                pv_escape_fputs(json_object_get_string(v), out);
}

static bool is_scalar(struct json_object *v)
{
        return !json_object_is_type(v, json_type_object) &&
               !json_object_is_type(v, json_type_array);
}

/* "key value" at indent; an object as "key:" and its members below, an
 * array of scalars on one line, of objects one block per element. */
static void print_generic(FILE *out, int indent, const char *key, struct json_object *v)
{
        if (is_scalar(v)) {
                fprintf(out, "%*s", indent, "");
                pv_escape_fputs(key, out);
                fputc(' ', out);
                print_scalar(out, v);
                fputc('\n', out);
                return;
        }
        if (json_object_is_type(v, json_type_object)) {
                fprintf(out, "%*s", indent, "");
                pv_escape_fputs(key, out);
                fprintf(out, ":%s\n", obj_len(v) ? "" : " none");
                json_object_object_foreach(v, k, val) print_generic(out, indent + 2, k, val);
                return;
        }
        size_t n = json_object_array_length(v);
        bool flat = true;
        for (size_t i = 0; i < n; i++)
                flat = flat && is_scalar(json_object_array_get_idx(v, i));
        if (flat) {
                fprintf(out, "%*s", indent, "");
                pv_escape_fputs(key, out);
                fputs(n ? "" : " none", out);
                for (size_t i = 0; i < n; i++) {
                        fputs(i ? ", " : " ", out);
                        print_scalar(out, json_object_array_get_idx(v, i));
                }
                fputc('\n', out);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                char k[96];
                snprintf(k, sizeof(k), "%s %zu", key, i);
                print_generic(out, indent, k, json_object_array_get_idx(v, i));
        }
}

/* Every member of obj that known[] does not name, generically. */
static void print_unknown(FILE *out, int indent, struct json_object *obj, const char *const *known)
{
        if (!obj || !json_object_is_type(obj, json_type_object))
                return;
        json_object_object_foreach(obj, key, val)
        {
                if (!listed(known, key))
                        print_generic(out, indent, key, val);
        }
}

/* ---- counters ---------------------------------------------------------------- */

static double dnum(struct json_object *obj, const char *key)
{
        struct json_object *v = member(obj, key);
        return v && (json_object_is_type(v, json_type_double) ||
                     json_object_is_type(v, json_type_int))
                   ? json_object_get_double(v)
                   : 0;
}

/* " name N, name N" for every non-zero counter of obj that pick() wants;
 * returns how many. */
static unsigned print_nonzero(FILE *out, struct json_object *obj, bool (*pick)(const char *key))
{
        unsigned n = 0;
        if (!obj || !json_object_is_type(obj, json_type_object))
                return 0;
        json_object_object_foreach(obj, key, val)
        {
                if (!json_object_is_type(val, json_type_int) || !json_object_get_uint64(val) ||
                    (pick && !pick(key)))
                        continue;
                fputs(n++ ? ", " : " ", out);
                pv_escape_fputs(key, out);
                fprintf(out, " %" PRIu64, json_object_get_uint64(val));
        }
        return n;
}

static void print_paths(FILE *out, const char *what, struct json_object *p)
{
        fprintf(out,
                "    %s offload: gso hw %" PRIu64 " sw %" PRIu64 " (%" PRIu64
                " segments), csum hw %" PRIu64 " sw %" PRIu64 ", linearized %" PRIu64
                ", dropped %" PRIu64 "\n",
                what, num(p, "gso_pass"), num(p, "gso_sw"), num(p, "gso_sw_segs"),
                num(p, "csum_pass"), num(p, "csum_sw"), num(p, "linearized"), num(p, "dropped"));
}

static void print_lro(FILE *out, struct json_object *lro)
{
        fprintf(out,
                "    lro: %" PRIu64 " frames, %" PRIu64 " merged into %" PRIu64
                " packets of 2+ segments, %" PRIu64 " left alone, longest hold %" PRIu64 " us\n",
                num(lro, "frames"), num(lro, "merged"), num(lro, "gso_out"), num(lro, "single_out"),
                num(lro, "hold_ns_max") / 1000);
        struct json_object *flush = member_obj(lro, "flush"), *pass = member_obj(lro, "pass");
        if (!num(lro, "frames"))
                return;
        if (obj_len(flush)) {
                fprintf(out, "      flushed by:");
                if (!print_nonzero(out, flush, NULL))
                        fprintf(out, " nothing yet");
                fprintf(out, "\n");
        }
        if (obj_len(pass)) {
                fprintf(out, "      passed through:");
                if (!print_nonzero(out, pass, NULL))
                        fprintf(out, " nothing yet");
                fprintf(out, "\n");
        }
}

/* ---- coalescing and QoS ------------------------------------------------------ */

/* Whether obj has key at all, null included (member() cannot tell). */
static bool has(struct json_object *obj, const char *key)
{
        return obj && json_object_is_type(obj, json_type_object) &&
               json_object_object_get_ex(obj, key, NULL);
}

/* Bits per second as the README writes them (tc's units, powers of 1000):
 * 0, 950, 500k, 1.5M, 100M, 1G. */
static const char *human_rate(uint64_t bps, char *buf, size_t len)
{
        static const char units[] = "kMGTPE";
        uint64_t scale = 1;
        int u = -1;
        while (u < 5 && bps / scale >= 1000) {
                scale *= 1000;
                u++;
        }
        if (u < 0)
                snprintf(buf, len, "%" PRIu64, bps);
        else if (bps % scale == 0)
                snprintf(buf, len, "%" PRIu64 "%c", bps / scale, units[u]);
        else
                snprintf(buf, len, "%.1f%c", (double)bps / (double)scale, units[u]);
        return buf;
}

/* A rate member: null is unlimited; missing, negative or not a number "?". */
static const char *rate(struct json_object *obj, const char *key, char *buf, size_t len)
{
        struct json_object *v = member(obj, key);
        if (has(obj, key) && !v)
                return "unlimited";
        if (!v || !json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
                return "?";
        return human_rate(json_object_get_uint64(v), buf, len);
}

/* Bytes in powers of 1000, one decimal from kB on. */
static const char *human_bytes(uint64_t b, char *buf, size_t len)
{
        static const char *const units[] = {"kB", "MB", "GB", "TB", "PB", "EB"};
        double v = (double)b;
        int u = -1;
        while (u < 5 && v >= 1000) {
                v /= 1000;
                u++;
        }
        if (u < 0)
                snprintf(buf, len, "%" PRIu64 " bytes", b);
        else
                snprintf(buf, len, "%.1f %s", v, units[u]);
        return buf;
}

/* A counter summed over a vif's queues' stats. */
static uint64_t queues_sum(struct json_object *dev, const char *key)
{
        struct json_object *queues = member_arr(dev, "queues");
        uint64_t sum = 0;
        for (size_t i = 0; i < arr_len(queues); i++)
                sum += num(member_obj(json_object_array_get_idx(queues, i), "stats"), key);
        return sum;
}

/* What the daemon added to a section beyond what its line shows. */
static void print_unknown_prefixed(FILE *out, int indent, const char *prefix,
                                   struct json_object *obj, const char *const *known)
{
        if (!obj || !json_object_is_type(obj, json_type_object))
                return;
        json_object_object_foreach(obj, key, val)
        {
                char k[96];
                if (listed(known, key))
                        continue;
                snprintf(k, sizeof(k), "%s%s", prefix, key);
                print_generic(out, indent, k, val);
        }
}

/* "qos: min 100M, max 1G, weight 2, default 0 (group xenbr0, capacity 1G);
 * allocated tx 300M rx 250M; achieved tx 298.3M rx 120M; early drops 1234
 * (5.6 MB), tx credit waits 5": the settings, then what the scheduler
 * gave and what got through, each way. */
static void print_qos(FILE *out, struct json_object *dev)
{
        struct json_object *q = member(dev, "qos");
        char buf[9][32];
        if (!has(dev, "qos"))
                return;
        if (!q || !json_object_is_type(q, json_type_object)) {
                print_generic(out, 2, "qos", q);
                return;
        }
        const char *max = rate(q, "max", buf[0], sizeof(buf[0]));
        const char *tx_max = rate(q, "max_tx_effective", buf[1], sizeof(buf[1]));
        fprintf(out, "  qos: min %s, max %s", rate(q, "min", buf[2], sizeof(buf[2])), max);
        /* The rate key lowers the TX max below qos.max. */
        if (has(q, "max_tx_effective") && strcmp(tx_max, max))
                fprintf(out, " (tx %s with the rate key)", tx_max);
        fprintf(out, ", weight %" PRIu64 ", default %s (", num(q, "weight"),
                rate(q, "default", buf[3], sizeof(buf[3])));
        if (member(q, "group"))
                fprintf(out, "group %s", str(q, "group"));
        else
                fputs("no group", out);
        fprintf(out,
                ", capacity %s); allocated tx %s rx %s; achieved tx %s rx %s; early drops %" PRIu64
                " (%s), tx credit waits %" PRIu64 "\n",
                rate(q, "group_capacity", buf[4], sizeof(buf[4])),
                rate(q, "allocation_tx", buf[5], sizeof(buf[5])),
                rate(q, "allocation_rx", buf[6], sizeof(buf[6])),
                rate(q, "achieved_tx_bps", buf[7], sizeof(buf[7])),
                rate(q, "achieved_rx_bps", buf[8], sizeof(buf[8])), num(q, "rx_drop_qos"),
                human_bytes(queues_sum(dev, "rx_drop_qos_bytes"), buf[0], sizeof(buf[0])),
                num(q, "tx_credit_waits"));
        static const char *const known[] = {"min",
                                            "default",
                                            "max",
                                            "max_tx_effective",
                                            "weight",
                                            "group",
                                            "group_capacity",
                                            "allocation_tx",
                                            "allocation_rx",
                                            "achieved_tx_bps",
                                            "achieved_rx_bps",
                                            "rx_drop_qos",
                                            "tx_credit_waits",
                                            NULL};
        print_unknown_prefixed(out, 4, "qos ", q, known);
}

static void print_l1(FILE *out, struct json_object *l1)
{
        if (!strcmp(str(l1, "mode"), "n/a")) {
                fprintf(out, "l1 n/a (%s)", str(l1, "why"));
                return;
        }
        fprintf(out,
                "l1 %s rx %" PRIu64 " us/%" PRIu64 " frames, tx %" PRIu64 " us/%" PRIu64 " frames",
                str(l1, "mode"), num(l1, "rx_usecs"), num(l1, "rx_frames"), num(l1, "tx_usecs"),
                num(l1, "tx_frames"));
}

static void print_l2(FILE *out, struct json_object *l2)
{
        const char *mode = str(l2, "mode");
        uint64_t polls = num(l2, "polls"), hits = num(l2, "poll_hits");
        fprintf(out, "l2 %s", mode);
        if (strcmp(mode, "off"))
                fprintf(out, " poll %" PRIu64 " us%s", num(l2, "poll_us"),
                        strcmp(mode, "adaptive") ? "" : " now");
        if (polls)
                fprintf(out, " (hits %.0f%% of %" PRIu64 " polls)",
                        hits <= polls ? 100.0 * (double)hits / (double)polls : 100.0, polls);
        else if (strcmp(mode, "off"))
                fputs(" (no polls yet)", out);
        fprintf(out, ", budget %" PRIu64, num(l2, "budget"));
}

/* One direction: its bound now and what it held. */
static void print_l3_dir(FILE *out, const char *name, struct json_object *d, bool bound)
{
        if (!d)
                return;
        fprintf(out, "; %s", name);
        /* Profile 0 of the ladder holds nothing (the level is parked). */
        if (bound && !num(d, "frames"))
                fprintf(out, " no hold (profile %" PRIu64 "),", num(d, "profile"));
        else if (bound)
                fprintf(out, " %" PRIu64 " frames/%" PRIu64 " us (profile %" PRIu64 "),",
                        num(d, "frames"), num(d, "usecs"), num(d, "profile"));
        fprintf(out,
                " held %" PRIu64 ", released %" PRIu64 ", expired %" PRIu64
                ", longest hold %" PRIu64 " us",
                num(d, "held"), num(d, "released"), num(d, "expired"), num(d, "hold_max_us"));
        if (bound)
                fprintf(out, ", steps up %" PRIu64 " down %" PRIu64 ", idle resets %" PRIu64,
                        num(d, "steps_up"), num(d, "steps_down"), num(d, "idle_resets"));
}

/* "coalesce l3: adaptive up to 128 frames/512 us; rx 32 frames/256 us
 * (profile 3), held ..." (per direction); fixed and off have no bound of
 * their own to show. */
static void print_l3(FILE *out, struct json_object *l3)
{
        const char *mode = str(l3, "mode");
        bool adaptive = !strcmp(mode, "adaptive");
        fprintf(out, "    coalesce l3: %s", mode);
        if (strcmp(mode, "off"))
                fprintf(out, " %s%" PRIu64 " frames/%" PRIu64 " us", adaptive ? "up to " : "",
                        num(l3, "max_frames"), num(l3, "max_usecs"));
        print_l3_dir(out, "rx", member_obj(l3, "rx"), adaptive);
        print_l3_dir(out, "tx", member_obj(l3, "tx"), adaptive);
        fputc('\n', out);
}

/* A level the layout knows as an object, or its generic line. */
static struct json_object *level(FILE *out, struct json_object *co, const char *key)
{
        struct json_object *v = member(co, key);
        char k[32];
        if (!has(co, key) || (v && json_object_is_type(v, json_type_object)))
                return v;
        snprintf(k, sizeof(k), "coalesce %s", key);
        print_generic(out, 4, k, v);
        return NULL;
}

/* "coalesce: l1 ...; l2 ...; l4 lro on; l5 hints tx kick 8, rx poll 20 us"
 * and the l3 line: per level its mode and the values in force now. */
static void print_coalesce(FILE *out, struct json_object *q)
{
        struct json_object *co = member(q, "coalesce");
        if (!has(q, "coalesce"))
                return;
        if (!co || !json_object_is_type(co, json_type_object)) {
                print_generic(out, 4, "coalesce", co);
                return;
        }
        struct json_object *l1 = level(out, co, "l1"), *l2 = level(out, co, "l2"),
                           *l3 = level(out, co, "l3"), *l4 = level(out, co, "l4"),
                           *l5 = level(out, co, "l5");
        const char *sep = "    coalesce: ";
        if (l1) {
                fputs(sep, out);
                print_l1(out, l1);
                sep = "; ";
        }
        if (l2) {
                fputs(sep, out);
                print_l2(out, l2);
                sep = "; ";
        }
        if (l4) {
                fprintf(out, "%sl4 lro %s", sep, str(l4, "mode"));
                sep = "; ";
        }
        if (l5) {
                fprintf(out, "%sl5 hints tx kick %" PRIu64 ", rx poll %" PRIu64 " us", sep,
                        num(l5, "tx_kick_batch"), num(l5, "rx_poll_us"));
                sep = "; ";
        }
        if (strcmp(sep, "; ") == 0)
                fputc('\n', out);
        if (l3)
                print_l3(out, l3);
        static const char *const levels[] = {"l1", "l2", "l3", "l4", "l5", NULL};
        print_unknown_prefixed(out, 4, "coalesce ", co, levels);
        static const char *const k1[] = {"mode",     "why",       "rx_usecs", "rx_frames",
                                         "tx_usecs", "tx_frames", NULL};
        static const char *const k2[] = {"mode", "poll_us", "budget", "polls", "poll_hits", NULL};
        static const char *const k3[] = {"mode",   "max_frames", "max_usecs", "rx",      "tx",
                                         "frames", "usecs",      "held",      "profile", NULL};
        static const char *const k4[] = {"mode", NULL};
        static const char *const k5[] = {"tx_kick_batch", "rx_poll_us", NULL};
        print_unknown_prefixed(out, 4, "coalesce l1 ", l1, k1);
        print_unknown_prefixed(out, 4, "coalesce l2 ", l2, k2);
        print_unknown_prefixed(out, 4, "coalesce l3 ", l3, k3);
        print_unknown_prefixed(out, 4, "coalesce l4 ", l4, k4);
        print_unknown_prefixed(out, 4, "coalesce l5 ", l5, k5);
}

/* "N of SIZE", or what a guest's nonsense ring index leaves to say. */
static void print_occupancy(FILE *out, struct json_object *ring, const char *key, const char *size)
{
        struct json_object *v = member(ring, key);
        if (flag(ring, "bogus") && (!v || !json_object_is_type(v, json_type_int)))
                fprintf(out, "n/a (guest index out of range) of %" PRIu64, num(ring, size));
        else
                fprintf(out, "%" PRIu64 " of %" PRIu64, num(ring, key), num(ring, size));
}

/* The counters the first lines show; the rest follows when non-zero. */
static const char *const vif_shown[] = {
    "tx_packets", "tx_bytes", "tx_gcopy_calls", "tx_gcopy_segs", "tx_events", "tx_notify",
    "rx_packets", "rx_bytes", "rx_gcopy_calls", "rx_gcopy_segs", "rx_events", "rx_notify",
    NULL,
};

/* Frames lost, and why. */
static bool is_loss(const char *key)
{
        return strstr(key, "drop") || !strcmp(key, "rx_gcopy_errors");
}

static bool is_other(const char *key)
{
        return !is_loss(key) && !listed(vif_shown, key);
}

static void print_vif_queue(FILE *out, struct json_object *q)
{
        struct json_object *s = member_obj(q, "stats");
        fprintf(out, "  queue %" PRIu64, num(q, "index"));
        if (member(q, "worker"))
                fprintf(out, " (worker %" PRIu64 ")", num(q, "worker"));
        fprintf(out, "%s\n", flag(q, "failed") ? ": FAILED, the guest broke the ring" : "");
        struct json_object *ring = member(q, "ring"), *rates = member(q, "rates");
        if (ring) {
                fputs("    ring: tx ", out);
                print_occupancy(out, ring, "tx_pending", "tx_size");
                fputs(" requests pending, rx ", out);
                print_occupancy(out, ring, "rx_posted", "rx_size");
                fputs(" slots posted\n", out);
        }
        if (rates)
                fprintf(out,
                        "    rate: tx %.0f packets/s %.2f MiB/s, rx %.0f packets/s %.2f MiB/s\n",
                        dnum(rates, "tx_packets"), dnum(rates, "tx_mib"), dnum(rates, "rx_packets"),
                        dnum(rates, "rx_mib"));
        for (int dir = 0; dir < 2; dir++) {
                const char *d = dir ? "rx" : "tx";
                char k[6][24];
                static const char *const names[] = {"packets",    "bytes",  "gcopy_calls",
                                                    "gcopy_segs", "events", "notify"};
                for (int i = 0; i < 6; i++)
                        snprintf(k[i], sizeof(k[i]), "%s_%s", d, names[i]);
                fprintf(out,
                        "    %s: %" PRIu64 " packets, %" PRIu64 " bytes; grant copy %" PRIu64
                        " calls, %" PRIu64 " segments; %" PRIu64 " events, %" PRIu64
                        " notifications\n",
                        dir ? "rx (to the guest)" : "tx (from the guest)", num(s, k[0]),
                        num(s, k[1]), num(s, k[2]), num(s, k[3]), num(s, k[4]), num(s, k[5]));
        }
        print_paths(out, "tx", member(s, "tx_off"));
        print_paths(out, "rx", member(s, "rx_off"));
        print_lro(out, member(s, "lro"));
        fprintf(out, "    drops:");
        if (!print_nonzero(out, s, is_loss))
                fprintf(out, " none");
        fprintf(out, "\n    other:");
        if (!print_nonzero(out, s, is_other))
                fprintf(out, " nothing counted");
        fprintf(out, "\n");
        print_coalesce(out, q);
        static const char *const known[] = {"index", "worker", "failed",   "stats",
                                            "ring",  "rates",  "coalesce", NULL};
        print_unknown(out, 4, q, known);
}

static void print_vif(FILE *out, struct json_object *dev)
{
        struct json_object *n = member(dev, "negotiated"), *u = member(dev, "uplink");
        if (u)
                fprintf(out, "  uplink: %s netdev %s, finishes %s itself; lro %s\n", str(u, "kind"),
                        str(u, "netdev"), str(u, "tx_caps"), on(dev, "lro"));
        print_qos(out, dev);
        if (!n) {
                fprintf(out, "  negotiated: nothing, the frontend is not connected\n");
                return;
        }
        struct json_object *rate = member(n, "rate");
        fprintf(out,
                "  negotiated: %" PRIu64 " queue(s) (backend max %" PRIu64
                "), %s event channels, sg %s, gso tcpv4 %s tcpv6 %s, csum ipv4 %s ipv6 %s, "
                "ctrl ring %s, multicast control %s, rx notify %s, xdp headroom %" PRIu64
                ", mac %s, ",
                num(n, "queues"), num(n, "backend_max_queues"), str(n, "event_channels"),
                on(n, "sg"), on(n, "gso_tcpv4"), on(n, "gso_tcpv6"), on(n, "csum_ipv4"),
                on(n, "csum_ipv6"), on(n, "ctrl_ring"), on(n, "multicast_control"),
                on(n, "rx_notify"), num(n, "xdp_headroom"), str(n, "mac"));
        if (rate)
                fprintf(out, "rate %" PRIu64 " bytes per %" PRIu64 " us\n", num(rate, "bytes"),
                        num(rate, "usec"));
        else
                fprintf(out, "rate unlimited\n");
        struct json_object *queues = member_arr(dev, "queues");
        for (size_t i = 0; i < arr_len(queues); i++)
                print_vif_queue(out, json_object_array_get_idx(queues, i));
}

static void print_vbd(FILE *out, struct json_object *dev)
{
        struct json_object *n = member(dev, "negotiated"), *b = member(dev, "backing");
        if (b)
                fprintf(out,
                        "  backing: %s %s, %" PRIu64 " bytes (%" PRIu64 " sectors of %" PRIu64
                        "), %s, %s, discard %s\n",
                        str(b, "type"), str(b, "path"), num(b, "bytes"), num(b, "sectors"),
                        num(b, "sector_size"), flag(b, "read_only") ? "read-only" : "read-write",
                        flag(b, "direct") ? "O_DIRECT" : "buffered", on(b, "discard"));
        else
                fprintf(out, "  backing: not opened yet (waiting for the hotplug script)\n");
        if (!n) {
                fprintf(out, "  negotiated: nothing, the frontend is not connected\n");
                return;
        }
        fprintf(out,
                "  negotiated: %s, %" PRIu64 " queue(s) (backend max %" PRIu64
                "), ring order %" PRIu64 " (%" PRIu64
                " page%s), persistent grants %s, indirect segments up to %" PRIu64
                ", large sectors %s\n",
                str(n, "abi"), num(n, "queues"), num(n, "backend_max_queues"), num(n, "ring_order"),
                num(n, "ring_pages"), num(n, "ring_pages") == 1 ? "" : "s",
                on(n, "persistent_grants"), num(n, "max_indirect_segments"), on(n, "large_sector"));
        struct json_object *queues = member_arr(dev, "queues");
        for (size_t i = 0; i < arr_len(queues); i++) {
                struct json_object *q = json_object_array_get_idx(queues, i);
                struct json_object *s = member_obj(q, "stats");
                fprintf(out,
                        "  queue %" PRIu64 " (worker %" PRIu64 ", %s): %" PRIu64
                        " requests (%" PRIu64 " failed), %" PRIu64 " segments; grant copy %" PRIu64
                        " calls, %" PRIu64 " segments; persistent grants %" PRIu64 " hits, %" PRIu64
                        " misses, %" PRIu64 " maps, %" PRIu64 " unmaps; %" PRIu64
                        " notifications; %" PRIu64 " submits for %" PRIu64 " operations\n",
                        num(q, "index"), num(q, "worker"), str(s, "engine"), num(s, "requests"),
                        num(s, "errors"), num(s, "segments"), num(s, "copy_calls"),
                        num(s, "copy_segs"), num(s, "pgrant_hits"), num(s, "pgrant_misses"),
                        num(s, "maps"), num(s, "unmaps"), num(s, "notifies"), num(s, "io_submits"),
                        num(s, "io_ops"));
                struct json_object *ring = member(q, "ring"), *rates = member(q, "rates");
                if (ring) {
                        fputs("    ring: ", out);
                        print_occupancy(out, ring, "pending", "size");
                        fprintf(out,
                                " requests pending, %" PRIu64 " in flight (%" PRIu64
                                " at the I/O engine)\n",
                                num(ring, "inflight"), num(ring, "io_inflight"));
                }
                if (rates)
                        fprintf(out, "    rate: %.0f requests/s, %.0f segments/s\n",
                                dnum(rates, "requests"), dnum(rates, "segments"));
                static const char *const known[] = {"index", "worker", "stats",
                                                    "ring",  "rates",  NULL};
                print_unknown(out, 4, q, known);
        }
}

static void print_device(FILE *out, struct json_object *dev)
{
        struct json_object *fe = member(dev, "frontend"), *be = member(dev, "backend");
        fprintf(out, "\n%s: frontend domain %" PRIu64 " device %" PRIu64 ", %s (frontend %s)%s\n",
                str(dev, "name"), num(fe, "domid"), num(fe, "devid"), str(be, "state_name"),
                str(fe, "state_name"), flag(dev, "disabled") ? ", DISABLED" : "");
        if (member(dev, "error"))
                fprintf(out, "  error: %s\n", str(dev, "error"));
        if (!strcmp(str(dev, "class"), "vif"))
                print_vif(out, dev);
        else if (!strcmp(str(dev, "class"), "vbd"))
                print_vbd(out, dev);
        static const char *const known[] = {
            "name", "class",  "frontend",   "backend", "disabled", "error", "connected",
            "lro",  "uplink", "negotiated", "queues",  "backing",  NULL};
        static const char *const known_vif[] = {
            "name", "class",  "frontend",   "backend", "disabled", "error", "connected",
            "lro",  "uplink", "negotiated", "queues",  "qos",      NULL};
        print_unknown(out, 2, dev, strcmp(str(dev, "class"), "vif") ? known : known_vif);
}

/* The backend facility: what each class is, how full, and its uplinks. */
static void print_classes(FILE *out, struct json_object *classes)
{
        size_t n = arr_len(classes);
        for (size_t i = 0; i < n; i++) {
                struct json_object *c = json_object_array_get_idx(classes, i);
                struct json_object *ups = member_arr(c, "uplinks");
                fprintf(out, "  %s: %s; %" PRIu64 " of at most %" PRIu64 " devices assigned\n",
                        str(c, "kind"), str(c, "virtualization"), num(c, "assigned"),
                        num(c, "max_devices"));
                for (size_t j = 0; j < arr_len(ups); j++) {
                        struct json_object *u = json_object_array_get_idx(ups, j);
                        struct json_object *br = member(u, "bridge");
                        fprintf(out, "    uplink of %s: %s netdev %s, %s%s, tx offloads %s\n",
                                str(u, "device"), str(u, "kind"), str(u, "netdev"),
                                br ? "bridge " : "no bridge", br ? str(u, "bridge") : "",
                                str(u, "tx_caps"));
                }
                static const char *const known[] = {"kind",        "virtualization", "assigned",
                                                    "max_devices", "uplinks",        NULL};
                print_unknown(out, 4, c, known);
        }
}

/* ---- strings a guest may have written ---------------------------------------- */

/* Every string value of v with its control bytes escaped, in place; keys
 * are escaped where they are printed. */
static void escape_strings(struct json_object *v)
{
        if (json_object_is_type(v, json_type_string)) {
                const char *raw = json_object_get_string(v);
                if (pv_escape_clean(raw))
                        return;
                size_t len = (size_t)json_object_get_string_len(v) * 4 + 1;
                char *e = malloc(len);
                if (e)
                        pv_escape(raw, e, len);
                json_object_set_string(v, e ? e : "?");
                free(e);
        } else if (json_object_is_type(v, json_type_object)) {
                json_object_object_foreach(v, key, val)
                {
                        (void)key;
                        escape_strings(val);
                }
        } else if (json_object_is_type(v, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(v); i++)
                        escape_strings(json_object_array_get_idx(v, i));
        }
}

/* A copy of the answer safe to print, or NULL. */
static struct json_object *printable_copy(struct json_object *obj)
{
        struct json_object *copy = NULL;
        if (json_object_deep_copy(obj, &copy, NULL) < 0)
                return NULL;
        escape_strings(copy);
        return copy;
}

static void print_show(FILE *out, struct json_object *show)
{
        struct json_object *d = member_obj(show, "daemon"), *devs = member_arr(show, "devices");
        uint64_t up = num(d, "uptime_s");
        size_t n = arr_len(devs);
        fprintf(out,
                "pvbackd %s (pid %" PRIu64 "), hypervisor %s, domain %" PRIu64 ", %" PRIu64
                " workers, up %" PRIu64 ":%02" PRIu64 ":%02" PRIu64 ", %" PRIu64 " device(s)\n",
                str(d, "version"), num(d, "pid"), str(d, "hypervisor"), num(d, "domid"),
                num(d, "workers"), up / 3600, up / 60 % 60, up % 60, num(d, "devices"));
        static const char *const known[] = {"version", "protocol", "pid",     "hypervisor", "domid",
                                            "workers", "uptime_s", "devices", "classes",    NULL};
        print_unknown(out, 2, d, known);
        if (member_arr(d, "classes")) {
                fprintf(out, "backend facility:\n");
                print_classes(out, member_arr(d, "classes"));
        }
        for (size_t i = 0; i < n; i++)
                print_device(out, json_object_array_get_idx(devs, i));
}

void inspect_print_show(FILE *out, struct json_object *show)
{
        struct json_object *safe = printable_copy(show);
        if (!safe) {
                fprintf(out, "pvback-inspect: out of memory\n");
                return;
        }
        print_show(out, safe);
        json_object_put(safe);
}

static bool absent_or(struct json_object *obj, const char *key, enum json_type type)
{
        struct json_object *v = member(obj, key);
        return !v || json_object_is_type(v, type);
}

bool inspect_answer_shape_ok(struct json_object *answer)
{
        return absent_or(answer, "daemon", json_type_object) &&
               absent_or(answer, "devices", json_type_array) &&
               absent_or(answer, "error", json_type_object);
}

int inspect_print_show_text(FILE *out, const char *text)
{
        struct json_object *obj = json_tokener_parse(text);
        if (!obj || !json_object_is_type(obj, json_type_object)) {
                json_object_put(obj);
                return -EINVAL;
        }
        if (!inspect_answer_shape_ok(obj)) {
                json_object_put(obj);
                return -EPROTO;
        }
        inspect_print_show(out, obj);
        json_object_put(obj);
        return 0;
}

/* ---- pvbackd down: what xenstore says ----------------------------------- */

static void print_xs_device(FILE *out, struct json_object *dev)
{
        struct json_object *fe = member(dev, "frontend"), *be = member(dev, "backend");
        struct json_object *neg = member(dev, "negotiated");
        fprintf(out,
                "\n%s: frontend domain %" PRIu64 " device %" PRIu64 ", backend %s, frontend %s\n",
                str(dev, "name"), num(fe, "domid"), num(fe, "devid"), str(be, "state_name"),
                str(fe, "state_name"));
        fprintf(out, "  backend %s: online ", str(be, "path"));
        print_scalar(out, member(be, "online"));
        fprintf(out, ", hotplug-status ");
        print_scalar(out, member(be, "hotplug_status"));
        fprintf(out, "\n  frontend %s\n", str(fe, "path"));
        if (member(dev, "error"))
                fprintf(out, "  error: %s\n", str(dev, "error"));
        if (!obj_len(neg)) {
                fprintf(out, "  negotiated: nothing the frontend wrote\n");
                return;
        }
        fprintf(out, "  negotiated (frontend keys):");
        json_object_object_foreach(neg, key, val)
        {
                fputc(' ', out);
                pv_escape_fputs(key, out);
                fputc('=', out);
                print_scalar(out, val);
        }
        fputc('\n', out);
}

static void print_xs(FILE *out, struct json_object *snap)
{
        struct json_object *devs = member_arr(snap, "devices");
        size_t n = arr_len(devs);
        fprintf(out,
                "from xenstore (pvbackd not running): domain %" PRIu64 ", %zu backend device(s)\n",
                num(snap, "domid"), n);
        for (size_t i = 0; i < n; i++)
                print_xs_device(out, json_object_array_get_idx(devs, i));
}

void inspect_print_xs(FILE *out, struct json_object *snap)
{
        struct json_object *safe = printable_copy(snap);
        if (!safe) {
                fprintf(out, "pvback-inspect: out of memory\n");
                return;
        }
        print_xs(out, safe);
        json_object_put(safe);
}

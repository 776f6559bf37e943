/* pvback-blkfront: a userspace blkif frontend for a (simulated or real) guest
 * domain: data verification, load generation, flush, discard and hostile
 * requests against whatever backend serves the vbd. Option parsing and mode
 * dispatch only; the work is in the bf_* library. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_hostile.h"
#include "bf_load.h"
#include "bf_verify.h"
#include "blkfront.h"
#include "fe_dyncap.h"
#include "xb.h"

static const char usage_text[] =
        "Usage: pvback-blkfront MODE [OPTIONS]\n"
        "\n"
        "A block frontend (blkif) in userspace. It runs inside a domain (on the simulator:\n"
        "eval \"$(pvback-sim env --domid N)\" first), attaches to device/vbd/DEVID of that\n"
        "domain, negotiates with the backend as Linux xen-blkfront does, runs one MODE,\n"
        "prints what was negotiated, and disconnects (Closing, then Closed).\n"
        "\n"
        "Modes:\n"
        "  verify    write every 512-byte sector of the range with a tag of its address\n"
        "            and the generation, flush, read back and check; mismatching sectors\n"
        "            are listed by number\n"
        "  load      generate I/O; prints IOPS, throughput, latency, grant operations\n"
        "            and notifications per request and the persistent-grant reuse\n"
        "  flush     one cache flush (FLUSH_DISKCACHE, else WRITE_BARRIER)\n"
        "  discard   discard --range (--secure for a secure erase)\n"
        "  hostile   send one malformed request of --class C and report what the\n"
        "            backend answered, or that it disconnected\n"
        "  info      connect, print the negotiation and the disk, disconnect\n"
        "\n"
        "Device and negotiation (defaults are Linux blkfront's):\n"
        "  --devid N            virtual device number (default 51712 = xvda)\n"
        "  --vdev NAME          xvdX as the toolstack encodes it (xvda..xvdp)\n"
        "  --queues N           queues wanted (default 4; clamped to\n"
        "                       multi-queue-max-queues)\n"
        "  --ring-order K       ring pages = 2^K (default 0; 'max' = the backend's\n"
        "                       max-ring-page-order; clamped to it)\n"
        "  --indirect-segs N    segments per indirect request (default 32; clamped to\n"
        "                       feature-max-indirect-segments)\n"
        "  --no-indirect        never send BLKIF_OP_INDIRECT (≤ 11 segments per request)\n"
        "  --no-persistent      feature-persistent=0: grant pages per request\n"
        "  --abi ABI            x86_64-abi (default) or x86_32-abi ring layout\n"
        "  --large-sectors      feature-large-sector-size=1: sectors in sector-size units\n"
        "  --page-offset S      each I/O buffer starts S sectors into a page (0..7)\n"
        "  --grant-limit N      persistent grants per queue (default: no limit)\n"
        "  --timeout MS         per handshake step (default 10000, as libxl)\n"
        "  --hypervisor xen|sim provider of the hypervisor seam (default: detected)\n"
        "  --no-dynamic-capabilities  ignore pvbackd's capability exchange, as a\n"
        "                       standard frontend does (default: follow it when offered:\n"
        "                       print each capabilities generation and acknowledge it)\n"
        "  --prefer latency|throughput|default  capabilities-preference to state\n"
        "\n"
        "Workload:\n"
        "  --range START:COUNT  512-byte sectors (default: the whole disk); COUNT may\n"
        "                       carry K/M/G to mean bytes\n"
        "  --generation G       verify: generation written and expected (default 1)\n"
        "  --write-only         verify: write and flush, do not read back\n"
        "  --check-only         verify: read back and check only\n"
        "  --expect-zero        verify: check that the range reads as zeroes\n"
        "  --bs BYTES           I/O size (default 128K for verify, 4K for load)\n"
        "  --depth N            I/Os in flight (default 32)\n"
        "  --pattern rand|seq   load: offsets (default rand)\n"
        "  --rw read|write|mix  load: operations (default read)\n"
        "  --read-pct P         load with --rw mix: percentage of reads (default 70)\n"
        "  --duration S         load: seconds (default 5)\n"
        "  --count N            load: I/Os instead of a duration\n"
        "  --secure             discard: BLKIF_DISCARD_SECURE\n"
        "  --class C            hostile: bad-op, zero-segments, too-many-segments,\n"
        "                       first-sect>last-sect (first-gt-last), last-sect>=8\n"
        "                       (last-sect-ge8), out-of-range, write-on-readonly, bad-gref,\n"
        "                       foreign-gref, too-many-indirect-pages, req-prod-far\n"
        "  --expect LIST        hostile: acceptable outcomes, comma-separated, of okay,\n"
        "                       error, eopnotsupp, disconnected, silent (default\n"
        "                       error,eopnotsupp,disconnected)\n"
        "  -q, --quiet          no negotiation summary\n"
        "  -v, --verbose        print each capabilities generation applied\n"
        "  -h, --help           this text\n"
        "\n"
        "Exit status: 0 on success; 1 on failure (the reason is printed: a mismatch, an\n"
        "I/O error, a refused handshake, an unexpected hostile outcome); 2 on bad usage;\n"
        "128+signal after a clean disconnect when SIGTERM or SIGINT stopped the run.\n";

enum mode { MODE_VERIFY, MODE_LOAD, MODE_FLUSH, MODE_DISCARD, MODE_HOSTILE, MODE_INFO };

struct cli {
        enum mode mode;
        struct bf_opts o;
        struct bf_verify_opts v;
        struct bf_load_opts l;
        enum bf_hostile_class cls;
        bool cls_set, range_set, secure, quiet, verbose;
        uint32_t bs;
        char expect[128];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
        stop_signal = sig;
}

static int parse_u64(const char *s, uint64_t *out)
{
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 0);
        uint64_t mul = 1;
        if (*end == 'K' || *end == 'k')
                mul = 1024;
        else if (*end == 'M' || *end == 'm')
                mul = 1024 * 1024;
        else if (*end == 'G' || *end == 'g')
                mul = 1024ull * 1024 * 1024;
        if (mul != 1)
                end++;
        if (errno || end == s || *end || s[0] == '-')
                return -EINVAL;
        *out = v * mul;
        return 0;
}

/* START:COUNT in sectors; a COUNT with a K/M/G suffix means bytes. */
static int parse_range(const char *s, uint64_t *start, uint64_t *count)
{
        char buf[64];
        snprintf(buf, sizeof(buf), "%s", s);
        char *colon = strchr(buf, ':');
        if (!colon)
                return -EINVAL;
        *colon = '\0';
        const char *c = colon + 1;
        bool bytes = *c && strchr("KkMmGg", c[strlen(c) - 1]);
        if (parse_u64(buf, start) < 0 || parse_u64(c, count) < 0)
                return -EINVAL;
        if (bytes)
                *count /= 512;
        return 0;
}

static int parse_vdev(const char *s, uint32_t *devid)
{
        /* xen-vbd-interface.7: xvd<letter> is 202<<8 | disk<<4 for disks 0..15. */
        if (strlen(s) != 4 || strncmp(s, "xvd", 3) || s[3] < 'a' || s[3] > 'p')
                return -EINVAL;
        *devid = (202u << 8) | ((uint32_t)(s[3] - 'a') << 4);
        return 0;
}

static int parse_mode(const char *s, enum mode *m)
{
        static const char *const names[] = {"verify", "load", "flush", "discard", "hostile", "info"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (!strcmp(s, names[i])) {
                        *m = (enum mode)i;
                        return 0;
                }
        return -EINVAL;
}

enum {
        OPT_DEVID = 256, OPT_VDEV, OPT_QUEUES, OPT_RING_ORDER, OPT_INDIRECT_SEGS, OPT_NO_INDIRECT,
        OPT_NO_PERSISTENT, OPT_ABI, OPT_LARGE, OPT_PAGE_OFF, OPT_GRANT_LIMIT, OPT_TIMEOUT,
        OPT_HYPERVISOR, OPT_RANGE, OPT_GENERATION, OPT_WRITE_ONLY, OPT_CHECK_ONLY, OPT_ZERO,
        OPT_BS, OPT_DEPTH, OPT_PATTERN, OPT_RW, OPT_READ_PCT, OPT_DURATION, OPT_COUNT,
        OPT_SECURE, OPT_CLASS, OPT_EXPECT, OPT_NO_DYNCAP, OPT_PREFER,
};

static const struct option long_opts[] = {
        {"devid", required_argument, NULL, OPT_DEVID},
        {"vdev", required_argument, NULL, OPT_VDEV},
        {"queues", required_argument, NULL, OPT_QUEUES},
        {"ring-order", required_argument, NULL, OPT_RING_ORDER},
        {"indirect-segs", required_argument, NULL, OPT_INDIRECT_SEGS},
        {"no-indirect", no_argument, NULL, OPT_NO_INDIRECT},
        {"no-persistent", no_argument, NULL, OPT_NO_PERSISTENT},
        {"abi", required_argument, NULL, OPT_ABI},
        {"large-sectors", no_argument, NULL, OPT_LARGE},
        {"page-offset", required_argument, NULL, OPT_PAGE_OFF},
        {"grant-limit", required_argument, NULL, OPT_GRANT_LIMIT},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"hypervisor", required_argument, NULL, OPT_HYPERVISOR},
        {"range", required_argument, NULL, OPT_RANGE},
        {"generation", required_argument, NULL, OPT_GENERATION},
        {"write-only", no_argument, NULL, OPT_WRITE_ONLY},
        {"check-only", no_argument, NULL, OPT_CHECK_ONLY},
        {"expect-zero", no_argument, NULL, OPT_ZERO},
        {"bs", required_argument, NULL, OPT_BS},
        {"depth", required_argument, NULL, OPT_DEPTH},
        {"pattern", required_argument, NULL, OPT_PATTERN},
        {"rw", required_argument, NULL, OPT_RW},
        {"read-pct", required_argument, NULL, OPT_READ_PCT},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"count", required_argument, NULL, OPT_COUNT},
        {"secure", no_argument, NULL, OPT_SECURE},
        {"class", required_argument, NULL, OPT_CLASS},
        {"expect", required_argument, NULL, OPT_EXPECT},
        {"no-dynamic-capabilities", no_argument, NULL, OPT_NO_DYNCAP},
        {"prefer", required_argument, NULL, OPT_PREFER},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

static int bad(const char *opt, const char *val)
{
        fprintf(stderr, "pvback-blkfront: invalid value '%s' for %s (see --help)\n", val, opt);
        return -EINVAL;
}

static int num_opt(const char *name, const char *val, uint64_t max, uint64_t *out)
{
        if (parse_u64(val, out) < 0 || *out > max)
                return bad(name, val);
        return 0;
}

static int device_option(struct cli *c, int opt, const char *arg)
{
        uint64_t v;
        switch (opt) {
        case OPT_DEVID:
                return num_opt("--devid", arg, UINT32_MAX, &v) ?: (c->o.devid = (uint32_t)v, 0);
        case OPT_VDEV:
                return parse_vdev(arg, &c->o.devid) < 0 ? bad("--vdev", arg) : 0;
        case OPT_QUEUES:
                if (num_opt("--queues", arg, BF_MAX_QUEUES, &v) < 0 || v == 0)
                        return bad("--queues", arg);
                c->o.queues = (uint32_t)v;
                return 0;
        case OPT_RING_ORDER:
                if (!strcmp(arg, "max")) {
                        c->o.ring_order = -1;
                        return 0;
                }
                return num_opt("--ring-order", arg, BF_MAX_RING_ORDER, &v) ?:
                       (c->o.ring_order = (int)v, 0);
        case OPT_INDIRECT_SEGS:
                return num_opt("--indirect-segs", arg, BF_MAX_INDIRECT_SEGS, &v) ?:
                       (c->o.indirect_segs = (uint32_t)v, 0);
        case OPT_NO_INDIRECT:
                c->o.indirect = false;
                return 0;
        case OPT_NO_PERSISTENT:
                c->o.persistent = false;
                return 0;
        case OPT_ABI:
                return bf_abi_parse(arg, &c->o.abi) < 0 ? bad("--abi", arg) : 0;
        case OPT_LARGE:
                c->o.large_sectors = true;
                return 0;
        case OPT_PAGE_OFF:
                return num_opt("--page-offset", arg, 7, &v) ?: (c->o.page_off = (uint32_t)v, 0);
        case OPT_GRANT_LIMIT:
                return num_opt("--grant-limit", arg, UINT32_MAX, &v) ?:
                       (c->o.grant_limit = (uint32_t)v, 0);
        case OPT_TIMEOUT:
                return num_opt("--timeout", arg, 3600000, &v) ?: (c->o.timeout_ms = (int)v, 0);
        case OPT_HYPERVISOR:
                c->o.provider = arg;
                return 0;
        case OPT_NO_DYNCAP:
                c->o.dyncap = false;
                return 0;
        case OPT_PREFER:
                c->o.prefer = arg;
                return fe_dyncap_pref_ok(arg) ? 0 : bad("--prefer", arg);
        }
        return 1; /* not a device option */
}

static int workload_option(struct cli *c, int opt, const char *arg)
{
        uint64_t v;
        switch (opt) {
        case OPT_RANGE:
                c->range_set = true;
                if (parse_range(arg, &c->v.start, &c->v.count) < 0)
                        return bad("--range", arg);
                c->l.start = c->v.start;
                c->l.span = c->v.count;
                return 0;
        case OPT_GENERATION:
                return num_opt("--generation", arg, UINT64_MAX, &c->v.generation);
        case OPT_WRITE_ONLY:
                c->v.read = false;
                return 0;
        case OPT_CHECK_ONLY:
                c->v.write = false;
                return 0;
        case OPT_ZERO:
                c->v.expect_zero = true;
                c->v.write = false;
                return 0;
        case OPT_BS:
                if (num_opt("--bs", arg, 64u << 20, &v) < 0 || v == 0 || v % 512)
                        return bad("--bs", arg);
                c->bs = (uint32_t)v;
                return 0;
        case OPT_DEPTH:
                if (num_opt("--depth", arg, 4096, &v) < 0 || v == 0)
                        return bad("--depth", arg);
                c->v.depth = c->l.depth = (uint32_t)v;
                return 0;
        case OPT_PATTERN:
                if (strcmp(arg, "rand") && strcmp(arg, "seq"))
                        return bad("--pattern", arg);
                c->l.random = !strcmp(arg, "rand");
                return 0;
        case OPT_RW:
                if (!strcmp(arg, "read"))
                        c->l.read_pct = 100;
                else if (!strcmp(arg, "write"))
                        c->l.read_pct = 0;
                else if (!strcmp(arg, "mix"))
                        c->l.read_pct = c->l.read_pct % 100 ? c->l.read_pct : 70;
                else
                        return bad("--rw", arg);
                return 0;
        case OPT_READ_PCT:
                return num_opt("--read-pct", arg, 100, &v) ?: (c->l.read_pct = (uint32_t)v, 0);
        case OPT_DURATION:
                c->l.duration_s = strtod(arg, NULL);
                return c->l.duration_s > 0 ? 0 : bad("--duration", arg);
        case OPT_COUNT:
                return num_opt("--count", arg, UINT64_MAX, &c->l.count);
        case OPT_SECURE:
                c->secure = true;
                return 0;
        case OPT_CLASS:
                c->cls_set = true;
                return bf_hostile_parse(arg, &c->cls) < 0 ? bad("--class", arg) : 0;
        case OPT_EXPECT:
                snprintf(c->expect, sizeof(c->expect), "%s", arg);
                return 0;
        case 'q':
                c->quiet = true;
                return 0;
        case 'v':
                c->verbose = true;
                return 0;
        }
        return bad("an option", arg ? arg : "");
}

static int parse_args(struct cli *c, int argc, char **argv)
{
        int opt;
        bf_opts_default(&c->o);
        c->v = (struct bf_verify_opts){.generation = 1, .depth = 32, .write = true, .read = true,
                                       .max_report = 20};
        c->l = (struct bf_load_opts){.random = true, .read_pct = 100, .depth = 32, .duration_s = 5};
        snprintf(c->expect, sizeof(c->expect), "error,eopnotsupp,disconnected");
        if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
                fputs(usage_text, stdout);
                exit(0);
        }
        if (argc < 2 || parse_mode(argv[1], &c->mode) < 0) {
                fprintf(stderr, "pvback-blkfront: a MODE comes first: verify, load, flush, "
                                "discard, hostile or info (see --help)\n");
                return -EINVAL;
        }
        optind = 2;
        while ((opt = getopt_long(argc, argv, "qvh", long_opts, NULL)) != -1) {
                if (opt == 'h') {
                        fputs(usage_text, stdout);
                        exit(0);
                }
                if (opt == '?')
                        return -EINVAL;
                int rc = device_option(c, opt, optarg);
                if (rc == 1)
                        rc = workload_option(c, opt, optarg);
                if (rc < 0)
                        return rc;
        }
        if (optind != argc) {
                fprintf(stderr, "pvback-blkfront: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        if (c->mode == MODE_HOSTILE && !c->cls_set) {
                fprintf(stderr, "pvback-blkfront: hostile needs --class (see --help)\n");
                return -EINVAL;
        }
        if (c->mode == MODE_DISCARD && !c->range_set) {
                fprintf(stderr, "pvback-blkfront: discard needs --range START:COUNT\n");
                return -EINVAL;
        }
        c->v.io_bytes = c->bs ? c->bs : 128 * 1024;
        c->l.io_bytes = c->bs ? c->bs : 4096;
        return 0;
}

static void print_negotiation(struct bf_dev *d, FILE *out)
{
        const struct bf_info *in = bf_info(d);
        fprintf(out,
                "negotiated: %s, queues %u (backend max %u), ring-page-order %u (%u slots), "
                "indirect %s",
                bf_abi_name(in->abi), in->nr_queues, in->be_max_queues, in->ring_order,
                in->ring_size, in->indirect_segs ? "on" : "off");
        if (in->indirect_segs)
                fprintf(out, " (%u segments, backend max %u)", in->indirect_segs,
                        in->be_max_indirect);
        fprintf(out, ", persistent grants %s, sector unit %u\n", in->persistent ? "on" : "off",
                in->unit);
        fprintf(out,
                "disk: %s: %" PRIu64 " sectors of %u bytes (physical %u), info %#x%s, "
                "flush-cache %d, barrier %d, discard %d",
                in->be_dir, in->sectors, in->sector_size, in->physical_sector_size, in->info,
                in->info & VDISK_READONLY ? " (read-only)" : "", in->flush_cache, in->barrier,
                in->discard);
        if (in->discard)
                fprintf(out, " (granularity %u, alignment %u, secure %d)", in->discard_granularity,
                        in->discard_alignment, in->discard_secure);
        fprintf(out, "\n");
        fe_dyncap_print(bf_dyncap(d), out);
}

static void on_done(void *arg, int status)
{
        *(int *)arg = status;
}

/* One flush or discard, waited for. */
static int single_op(struct bf_dev *d, enum bf_op op, uint64_t start, uint64_t count)
{
        const struct bf_info *in = bf_info(d);
        uint32_t per_unit = in->unit / 512;
        int status = 1;
        if (start % per_unit || count % per_unit) {
                fprintf(stderr, "pvback-blkfront: the range must be in whole %u-byte sectors\n",
                        in->unit);
                return -EINVAL;
        }
        int rc = bf_submit(d, op, start / per_unit, count / per_unit, NULL, on_done, &status);
        if (rc == 0)
                rc = bf_drain(d, 30000);
        if (rc == 0)
                rc = status;
        printf("%s: %s\n", bf_op_name(op), rc == 0 ? "completed" : strerror(-rc));
        return rc;
}

static bool expected(const char *list, const char *outcome)
{
        char buf[128];
        snprintf(buf, sizeof(buf), "%s", list);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
                if (!strcmp(t, outcome))
                        return true;
        return false;
}

static int run_hostile(struct bf_dev *d, const struct cli *c)
{
        struct bf_hostile_result r;
        char buf[32];
        int rc = bf_hostile_run(d, c->cls, c->o.timeout_ms, &r);
        if (rc < 0) {
                fprintf(stderr, "pvback-blkfront: hostile %s could not be sent: %s\n",
                        bf_hostile_name(c->cls), strerror(-rc));
                return rc;
        }
        const char *what = bf_hostile_outcome_name(&r, buf, sizeof(buf));
        printf("hostile %s: sent %s\n", bf_hostile_name(c->cls), r.detail);
        if (r.outcome == BF_HOSTILE_ANSWERED)
                printf("hostile %s: backend answered status %d (%s), operation %u; backend "
                       "state %s\n",
                       bf_hostile_name(c->cls), r.status, what, r.operation,
                       xb_state_name(r.backend_state));
        else if (r.outcome == BF_HOSTILE_DISCONNECTED)
                printf("hostile %s: backend disconnected (state %s)\n", bf_hostile_name(c->cls),
                       xb_state_name(r.backend_state));
        else
                printf("hostile %s: no answer within %d ms; backend state %s\n",
                       bf_hostile_name(c->cls), c->o.timeout_ms, xb_state_name(r.backend_state));
        if (!expected(c->expect, what)) {
                fprintf(stderr, "pvback-blkfront: hostile %s: outcome '%s' is not one of %s\n",
                        bf_hostile_name(c->cls), what, c->expect);
                return -EPROTO;
        }
        return 0;
}

static int run_verify(struct bf_dev *d, struct cli *c)
{
        struct bf_verify_result r;
        c->v.stop = &stop_signal;
        int rc = bf_verify_run(d, &c->v, stdout, &r);
        printf("verify: generation %" PRIu64 ": %" PRIu64 " sectors written (%.2f s), %" PRIu64
               " checked (%.2f s), %" PRIu64 " mismatches, %" PRIu64 " I/O errors\n",
               c->v.generation, r.written, r.write_s, r.checked, r.read_s, r.mismatches,
               r.io_errors);
        if (rc == -EBADMSG)
                fprintf(stderr, "pvback-blkfront: verify failed: %" PRIu64
                                " sectors do not hold what was written (first: sector %" PRIu64
                                ")\n",
                        r.mismatches, r.first_bad);
        return rc;
}

static int run_mode(struct bf_dev *d, struct cli *c)
{
        struct bf_load_result lr;
        int rc;
        switch (c->mode) {
        case MODE_VERIFY:
                return run_verify(d, c);
        case MODE_LOAD:
                c->l.stop = &stop_signal;
                rc = bf_load_run(d, &c->l, &lr);
                bf_load_print(&lr, stdout);
                return rc;
        case MODE_FLUSH:
                return single_op(d, BF_OP_FLUSH, 0, 0);
        case MODE_DISCARD:
                return single_op(d, c->secure ? BF_OP_SECURE_DISCARD : BF_OP_DISCARD, c->v.start,
                                 c->v.count);
        case MODE_HOSTILE:
                return run_hostile(d, c);
        case MODE_INFO:
                return 0;
        }
        return -EINVAL;
}

int main(int argc, char **argv)
{
        struct cli c = {0};
        struct bf_dev *d;
        char err[512];

        if (parse_args(&c, argc, argv) < 0)
                return 2;
        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        c.o.stop = &stop_signal;
        /* One line per generation is for a reader following changes, not
         * for load and benchmark output: the summary says what was acked. */
        if (c.verbose && !c.quiet)
                c.o.dyncap_report = stdout;
        int rc = bf_open(&c.o, &d, err, sizeof(err));
        if (rc < 0) {
                fprintf(stderr, "pvback-blkfront: cannot connect vbd %u: %s\n", c.o.devid, err);
                return stop_signal ? 128 + stop_signal : 1;
        }
        if (c.mode == MODE_INFO && !c.quiet)
                print_negotiation(d, stdout);
        rc = run_mode(d, &c);
        if (rc == -ENOTCONN || rc == -EPROTO)
                fprintf(stderr, "pvback-blkfront: %s\n", strerror(-rc));
        if (c.mode != MODE_INFO && !c.quiet)
                print_negotiation(d, stdout);
        if (!c.quiet)
                printf("grants: %" PRIu64 " granted, %" PRIu64 " ended in %" PRIu64
                       " share and %" PRIu64 " unshare calls; %" PRIu64 " requests, %" PRIu64
                       " notifications (%" PRIu64 " suppressed), %" PRIu64 " events\n",
                       bf_stats(d)->gnt.granted, bf_stats(d)->gnt.ended, bf_stats(d)->gnt.share_calls,
                       bf_stats(d)->gnt.unshare_calls, bf_stats(d)->requests,
                       bf_stats(d)->notifies, bf_stats(d)->suppressed, bf_stats(d)->events);
        int crc = bf_close(d);
        if (crc < 0)
                fprintf(stderr, "pvback-blkfront: disconnect was not clean: %s\n", strerror(-crc));
        if (stop_signal) {
                fprintf(stderr, "pvback-blkfront: stopped by signal %d, disconnected\n",
                        (int)stop_signal);
                return 128 + stop_signal;
        }
        if (rc < 0 && rc != -EBADMSG && rc != -ENOTCONN && rc != -EPROTO && c.mode != MODE_HOSTILE)
                fprintf(stderr, "pvback-blkfront: %s failed: %s\n", argv[1], strerror(-rc));
        return rc < 0 ? 1 : 0;
}

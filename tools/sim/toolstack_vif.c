/* `pvback-sim vif attach|detach`: the vif key set of libxl_nic.c
 * (libxl__device_nic_setdefault + libxl__set_xenstore_nic), xl's rate
 * syntax, and the vif hotplug arguments of libxl_linux.c. */
#include "toolstack.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define MTU_DEFAULT 1500 /* LIBXL_DEVICE_NIC_MTU_DEFAULT */

static const char vif_help[] =
    "Usage: pvback-sim vif attach --domid N [--devid N] [--mac MAC] [OPTIONS]\n"
    "       pvback-sim vif detach --domid N (--devid N | --mac MAC) [OPTIONS]\n"
    "\n"
    "Adds or removes a paravirtual network device of domain N on the simulated host\n"
    "the way libxl 4.17 does for 'xl network-attach' and 'xl network-detach'.\n"
    "\n"
    "attach writes, in one xenstore transaction, the backend directory\n"
    "/local/domain/B/backend/vif/N/ID (owned by B, readable by N), the frontend\n"
    "directory /local/domain/N/device/vif/ID (owned by N, readable by B; its mtu key\n"
    "owned by B and read-only to N) and libxl's private copy /libxl/N/device/vif/ID,\n"
    "with hotplug-status=\"\" so that the backend waits for the script. It then waits\n"
    "for the backend's state to become 2 (InitWait), runs\n"
    "    SCRIPT online type_if=vif\n"
    "with script, XENBUS_TYPE=vif, XENBUS_PATH=backend/vif/N/ID, XENBUS_BASE_PATH,\n"
    "netdev (the gateway device) and vif=vifN.ID in an otherwise clean environment\n"
    "(PATH and XENSTORED_PATH), and checks that the script wrote\n"
    "hotplug-status=connected. The netdev vifN.ID is the backend's to create.\n"
    "\n"
    "detach writes online=0 and state=5 (Closing) in one transaction, waits for\n"
    "state 6 (Closed), runs 'SCRIPT offline type_if=vif' and removes the three\n"
    "directories.\n"
    "\n"
    "Options:\n"
    "  --domid N           frontend domain (required)\n"
    "  --devid N           device id; attach defaults to the next free one\n"
    "  --mac MAC           guest MAC address; default 00:16:3e with three random bytes\n"
    "  --bridge NAME       bridge for vif-bridge (default xenbr0)\n"
    "  --script PATH       hotplug script, relative to " TS_SCRIPT_DIR "\n"
    "                      (default vif-bridge)\n"
    "  --vifname NAME      name the script gives the netdev\n"
    "  --ip ADDRS          space-separated addresses (vif-route, antispoofing)\n"
    "  --gatewaydev DEV    gateway device, passed to the script as netdev\n"
    "  --rate RATE         transmit limit in xl syntax: 10Mb/s, 1GB/s@20ms, 100MB/s@1s\n"
    "                      (interval default 50ms); written as rate=<bytes>,<usecs>\n"
    "  --mtu N             MTU (default 1500; the backend key only when different)\n"
    "  --untrusted         trusted=0: the guest should not trust the backend\n";

static int vif_hotplug_args(struct xs_handle *xs, const struct ts_device *d, enum ts_action action,
                            struct ts_hotplug *hp)
{
        char be[3072], path[3100], vif[32];
        unsigned len;
        int rc = ts_backend_path(d, be, sizeof(be));
        if (rc < 0)
                return rc;
        snprintf(path, sizeof(path), "%s/gatewaydev", be);
        char *gw = xs_read(xs, XBT_NULL, path, &len);
        /* NETBACK_NIC_NAME "vif%u.%d": the original name even with vifname=,
         * which vif-common.sh applies itself. */
        snprintf(vif, sizeof(vif), "vif%u.%u", d->domid, d->devid);
        rc = ts_hotplug_add_arg(hp, action == TS_ADD ? "online" : "offline");
        rc = rc ?: ts_hotplug_add_arg(hp, "type_if=vif");
        rc = rc ?: ts_hotplug_add_env(hp, "netdev", gw ? gw : "");
        rc = rc ?: ts_hotplug_add_env(hp, "vif", vif);
        free(gw);
        return rc;
}

const struct ts_kind ts_kind_vif = {"vif", vif_hotplug_args};

int ts_vif_build(const struct ts_vif_cfg *cfg, struct ts_device *d)
{
        const uint8_t *m = cfg->mac;
        unsigned mtu = cfg->mtu ? cfg->mtu : MTU_DEFAULT;
        char mac[18];
        snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                 m[5]);
        ts_device_init(d, &ts_kind_vif, cfg->domid, cfg->backend_domid, cfg->devid);
        /* Key order as libxl__set_xenstore_nic appends them. */
        int rc = ts_device_common_keys(d);
        rc = rc ?: ts_kvs_add(&d->back, "script", "%s", cfg->script);
        if (rc == 0 && cfg->vifname)
                rc = ts_kvs_add(&d->back, "vifname", "%s", cfg->vifname);
        rc = rc ?: ts_kvs_add(&d->back, "mac", "%s", mac);
        if (rc == 0 && cfg->ip)
                rc = ts_kvs_add(&d->back, "ip", "%s", cfg->ip);
        if (rc == 0 && cfg->gatewaydev)
                rc = ts_kvs_add(&d->back, "gatewaydev", "%s", cfg->gatewaydev);
        if (rc == 0 && cfg->rate_usecs > 0)
                rc = ts_kvs_add(&d->back, "rate", "%" PRIu64 ",%" PRIu32, cfg->rate_bytes,
                                cfg->rate_usecs);
        if (rc == 0 && mtu != MTU_DEFAULT)
                rc = ts_kvs_add(&d->back, "mtu", "%u", mtu);
        rc = rc ?: ts_kvs_add(&d->back, "bridge", "%s", cfg->bridge ? cfg->bridge : "xenbr0");
        rc = rc ?: ts_kvs_add(&d->back, "handle", "%u", cfg->devid);
        /* PV and PVH guests are always "vif" (libxl__device_nic_setdefault). */
        rc = rc ?: ts_kvs_add(&d->back, "type", "vif");
        rc = rc ?: ts_kvs_add(&d->front, "handle", "%u", cfg->devid);
        rc = rc ?: ts_kvs_add(&d->front, "mac", "%s", mac);
        rc = rc ?: ts_kvs_add(&d->ro_front, "mtu", "%u", mtu);
        /* "Force backend to wait for hotplug script execution before switching
         * to connected state." */
        rc = rc ?: ts_kvs_add(&d->back, "hotplug-status", "%s", "");
        rc = rc ?: ts_kvs_add(&d->front, "trusted", "%s", cfg->untrusted ? "0" : "1");
        if (rc < 0)
                ts_device_free(d);
        return rc;
}

/* The number both halves of xl's rate syntax start with, once the whole
 * string matched `pattern`; *unit points at what follows the digits. */
static int rate_number(const char *s, const char *pattern, uint64_t *v, char **unit)
{
        regex_t re;
        if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
                return -ENOMEM;
        int bad = regexec(&re, s, 0, NULL, 0);
        regfree(&re);
        if (bad)
                return -EINVAL;
        errno = 0;
        *v = strtoull(s, unit, 10);
        if (*v == 0 || *v > UINT32_MAX || errno == ERANGE)
                return -EOVERFLOW;
        return 0;
}

/* xlu_vif_parse_rate's two halves. */
static int rate_bytes_per_sec(const char *s, uint64_t *out)
{
        char *p = NULL;
        uint64_t v;
        int rc = rate_number(s, "^[0-9]+[GMK]?[Bb]/s$", &v, &p);
        if (rc < 0)
                return rc;
        if (*p == 'G')
                v *= 1000 * 1000 * 1000;
        else if (*p == 'M')
                v *= 1000 * 1000;
        else if (*p == 'K')
                v *= 1000;
        if (*p == 'b' || p[1] == 'b')
                v /= 8;
        *out = v;
        return 0;
}

static int rate_interval_usecs(const char *s, uint32_t *out)
{
        char *p = NULL;
        uint64_t v;
        int rc = rate_number(s, "^[0-9]+[mu]?s?$", &v, &p);
        if (rc < 0)
                return rc;
        if (*p == 's' || *p == '\0')
                v *= 1000 * 1000;
        else if (*p == 'm')
                v *= 1000;
        if (v > UINT32_MAX)
                return -EOVERFLOW;
        *out = (uint32_t)v;
        return 0;
}

int ts_parse_rate(const char *rate, uint64_t *bytes_per_interval, uint32_t *interval_usecs)
{
        char buf[128];
        uint64_t bps;
        uint32_t usecs = 50000; /* xl's default interval, 50 ms */
        if (snprintf(buf, sizeof(buf), "%s", rate) >= (int)sizeof(buf))
                return -EINVAL;
        char *at = strchr(buf, '@');
        if (at)
                *at++ = '\0';
        if (!buf[0])
                return -EINVAL;
        int rc = rate_bytes_per_sec(buf, &bps);
        if (rc == 0 && at)
                rc = rate_interval_usecs(at, &usecs);
        if (rc < 0)
                return rc;
        if (bps > UINT64_MAX / usecs)
                return -EOVERFLOW;
        *bytes_per_interval = bps * usecs / 1000000u;
        *interval_usecs = usecs;
        return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
        unsigned b[6];
        int n = 0;
        if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &n) !=
                6 ||
            s[n] != '\0' || strlen(s) != 17)
                return -EINVAL;
        for (int i = 0; i < 6; i++)
                mac[i] = (uint8_t)b[i];
        return 0;
}

/* libxl__device_nic_setdefault: Xen's OUI, then random bytes, top bit clear. */
static int random_mac(uint8_t mac[6])
{
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = read(fd, mac + 3, 3);
        close(fd);
        if (n != 3)
                return -EIO;
        mac[0] = 0x00;
        mac[1] = 0x16;
        mac[2] = 0x3e;
        mac[3] &= 0x7f;
        return 0;
}

/* The private copies under /libxl/N/device/vif: the next free id (as
 * libxl__device_nextid, highest + 1) or the id holding a MAC. */
static long scan_vifs(struct xs_handle *xs, uint32_t domid, const char *want_mac)
{
        char path[128];
        unsigned n = 0, len;
        long next = 0, found = -1;
        snprintf(path, sizeof(path), "/libxl/%u/device/vif", domid);
        char **ents = xs_directory(xs, XBT_NULL, path, &n);
        for (unsigned i = 0; i < n; i++) {
                long id = strtol(ents[i], NULL, 10);
                if (id >= next)
                        next = id + 1;
                if (!want_mac)
                        continue;
                snprintf(path, sizeof(path), "/libxl/%u/device/vif/%s/mac", domid, ents[i]);
                char *mac = xs_read(xs, XBT_NULL, path, &len);
                if (mac && strcasecmp(mac, want_mac) == 0)
                        found = id;
                free(mac);
        }
        free(ents);
        return want_mac ? found : next;
}

struct vif_args {
        struct ts_opts o;
        struct ts_vif_cfg cfg;
        const char *mac;
        const char *rate;
        long mtu;
};

enum {
        OPT_MAC = TS_OPT_KIND_FIRST,
        OPT_BRIDGE,
        OPT_VIFNAME,
        OPT_IP,
        OPT_GATEWAYDEV,
        OPT_RATE,
        OPT_MTU,
        OPT_UNTRUSTED,
};

static int vif_parse(struct vif_args *a, int argc, char **argv)
{
        static const struct option opts[] = {
            TS_COMMON_LONGOPTS,
            {"mac", required_argument, NULL, OPT_MAC},
            {"bridge", required_argument, NULL, OPT_BRIDGE},
            {"vifname", required_argument, NULL, OPT_VIFNAME},
            {"ip", required_argument, NULL, OPT_IP},
            {"gatewaydev", required_argument, NULL, OPT_GATEWAYDEV},
            {"rate", required_argument, NULL, OPT_RATE},
            {"mtu", required_argument, NULL, OPT_MTU},
            {"untrusted", no_argument, NULL, OPT_UNTRUSTED},
            {NULL, 0, NULL, 0},
        };
        int c, rc;
        optind = 1;
        while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
                if ((rc = ts_opts_common(&a->o, "vif", c, optarg)) == 1)
                        continue;
                if (rc)
                        return rc;
                switch (c) {
                case OPT_MAC:
                        a->mac = optarg;
                        break;
                case OPT_BRIDGE:
                        a->cfg.bridge = optarg;
                        break;
                case OPT_VIFNAME:
                        a->cfg.vifname = optarg;
                        break;
                case OPT_IP:
                        a->cfg.ip = optarg;
                        break;
                case OPT_GATEWAYDEV:
                        a->cfg.gatewaydev = optarg;
                        break;
                case OPT_RATE:
                        a->rate = optarg;
                        break;
                case OPT_MTU:
                        if (ts_parse_long("vif", "mtu", optarg, 68, 65535, &a->mtu))
                                return 2;
                        break;
                case OPT_UNTRUSTED:
                        a->cfg.untrusted = true;
                        break;
                }
        }
        if (optind < argc)
                return ts_usage_error("vif", "unexpected argument '%s'", argv[optind]);
        if (a->o.domid < 0)
                return ts_usage_error("vif", "--domid is required");
        if (a->mac && parse_mac(a->mac, a->cfg.mac) < 0)
                return ts_usage_error("vif", "--mac: '%s' is not xx:xx:xx:xx:xx:xx", a->mac);
        if (a->rate && ts_parse_rate(a->rate, &a->cfg.rate_bytes, &a->cfg.rate_usecs) < 0)
                return ts_usage_error("vif", "--rate: invalid rate '%s' (e.g. 10Mb/s@20ms)",
                                      a->rate);
        if (!a->o.attach && a->o.devid < 0 && !a->mac)
                return ts_usage_error("vif", "detach needs --devid or --mac");
        return 0;
}

static int vif_attach(struct xs_handle *xs, struct vif_args *a)
{
        struct ts_device d;
        char *script = ts_script_path(a->o.script ? a->o.script : "vif-bridge");
        int rc = script ? 0 : -ENOMEM;
        if (rc == 0 && !a->mac)
                rc = random_mac(a->cfg.mac);
        if (rc < 0)
                goto out;
        a->cfg.domid = (uint32_t)a->o.domid;
        a->cfg.backend_domid = (uint32_t)a->o.backend_domid;
        a->cfg.devid = (uint32_t)(a->o.devid >= 0 ? a->o.devid : scan_vifs(xs, a->cfg.domid, NULL));
        a->cfg.script = script;
        a->cfg.mtu = (unsigned)a->mtu;
        if ((rc = ts_vif_build(&a->cfg, &d)) < 0)
                goto out;
        rc = ts_attach(xs, &d, &a->o.timeouts, a->o.no_wait);
        ts_device_free(&d);
out:
        free(script);
        return rc;
}

static int vif_detach(struct xs_handle *xs, struct vif_args *a)
{
        struct ts_device d;
        long devid = a->o.devid;
        if (devid < 0)
                devid = scan_vifs(xs, (uint32_t)a->o.domid, a->mac);
        ts_device_init(&d, &ts_kind_vif, (uint32_t)a->o.domid, (uint32_t)a->o.backend_domid,
                       (uint32_t)(devid < 0 ? 0 : devid));
        if (devid < 0 || ts_device_lookup(xs, &d) < 0) {
                if (a->o.devid >= 0)
                        fprintf(stderr, "pvback-sim vif: domain %ld has no vif with id %ld\n",
                                a->o.domid, a->o.devid);
                else
                        fprintf(stderr, "pvback-sim vif: domain %ld has no vif with MAC %s\n",
                                a->o.domid, a->mac);
                return -ENODEV;
        }
        return ts_detach(xs, &d, &a->o.timeouts, a->o.force, a->o.no_wait);
}

int toolstack_vif_main(const char *dir, int argc, char **argv)
{
        struct vif_args a = {0};
        int rc = ts_opts_begin(&a.o, "vif", dir, argc, argv);
        if (rc == 0)
                rc = vif_parse(&a, argc, argv);
        if (rc == 3) {
                fputs(vif_help, stdout);
                fputs(ts_common_help, stdout);
                return 0;
        }
        if (rc)
                return rc;
        struct xs_handle *xs = ts_connect("vif", dir);
        if (!xs)
                return 1;
        rc = a.o.attach ? vif_attach(xs, &a) : vif_detach(xs, &a);
        xs_close(xs);
        return rc < 0 ? 1 : 0;
}

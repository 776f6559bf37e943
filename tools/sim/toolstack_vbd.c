/* `pvback-sim vbd attach|detach`: the vbd key set of libxl_disk.c
 * device_disk_add (phy backend), the virtual-device encoding of
 * xen-vbd-interface.7 (libxl__device_disk_dev_number) and the block hotplug
 * arguments of libxl_linux.c. */
#include "toolstack.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

static const char vbd_help[] =
    "Usage: pvback-sim vbd attach --domid N --target PATH --vdev NAME [OPTIONS]\n"
    "       pvback-sim vbd detach --domid N (--vdev NAME | --devid N) [OPTIONS]\n"
    "\n"
    "Adds or removes a paravirtual block device of domain N on the simulated host the\n"
    "way libxl 4.17 does for 'xl block-attach' and 'xl block-detach' with a phy\n"
    "backend (the one a vbd with script= gets).\n"
    "\n"
    "attach writes, in one xenstore transaction, the backend directory\n"
    "/local/domain/B/backend/vbd/N/ID (owned by B, readable by N), the frontend\n"
    "directory /local/domain/N/device/vbd/ID (owned by N, readable by B) and libxl's\n"
    "private copy /libxl/N/device/vbd/ID; ID is the encoded virtual device (xvda is\n"
    "51712). It then waits for the backend's state to become 2 (InitWait) and runs\n"
    "    SCRIPT add\n"
    "with script, XENBUS_TYPE=vbd, XENBUS_PATH=backend/vbd/N/ID and XENBUS_BASE_PATH\n"
    "in an otherwise clean environment (PATH and XENSTORED_PATH).\n"
    "\n"
    "detach writes online=0 and state=5 (Closing) in one transaction, waits for\n"
    "state 6 (Closed), runs 'SCRIPT remove' and removes the three directories.\n"
    "\n"
    "Options:\n"
    "  --domid N           frontend domain (required)\n"
    "  --target PATH       backing store, written as params (alias --params). Without\n"
    "                      --script it must be a block device or a regular file, as\n"
    "                      libxl checks for a phy backend in its own domain\n"
    "  --vdev NAME         virtual device: xvda, xvdb1, xvdaa, sda, hda, d0p1 or a\n"
    "                      number (xen-vbd-interface.7); written as dev\n"
    "  --devid N           the encoded virtual device instead of --vdev\n"
    "  --mode r|w          read-only or read-write (default w; ro and rw accepted)\n"
    "  --device-type disk|cdrom  (default disk)\n"
    "  --script PATH       hotplug script, relative to " TS_SCRIPT_DIR "\n"
    "                      (default block)\n"
    "  --removable         removable=1\n"
    "  --direct-io-safe    direct-io-safe=1\n"
    "  --discard, --no-discard  discard-enable (default: enabled for mode w)\n"
    "  --protocol ABI      frontend protocol for a PV guest: x86_64-abi (default),\n"
    "                      x86_32-abi, arm-abi, or none (an HVM guest gets no key)\n"
    "  --untrusted         trusted=0: the guest should not trust the backend\n";

static int vbd_hotplug_args(struct xs_handle *xs, const struct ts_device *d, enum ts_action action,
                            struct ts_hotplug *hp)
{
        (void)xs;
        (void)d;
        /* libxl__device_action_to_string. */
        return ts_hotplug_add_arg(hp, action == TS_ADD ? "add" : "remove");
}

const struct ts_kind ts_kind_vbd = {"vbd", vbd_hotplug_args};

/* device_virtdisk_matches: a prefix, the disk as letters in base 26
 * (a..z, aa..), then an optional partition without leading zeros. */
static bool virtdisk_matches(const char *vdev, const char *prefix, int max_disk, int max_part,
                             int *disk, int *part)
{
        size_t plen = strlen(prefix);
        const char *p = vdev + plen;
        long idx = -1;
        if (strncmp(vdev, prefix, plen) != 0)
                return false;
        for (; *p >= 'a' && *p <= 'z'; p++) {
                idx = (idx + 1) * 26 + (*p - 'a');
                if (idx > max_disk)
                        return false;
        }
        /* libxl lets a bare prefix through as disk -1; no device has that name. */
        if (idx < 0)
                return false;
        *disk = (int)idx;
        *part = 0;
        if (!*p)
                return true;
        if (*p == '0' || *p < '0' || *p > '9')
                return false;
        char *end = NULL;
        long pl = strtol(p, &end, 10);
        if (*end || pl > max_part)
                return false;
        *part = (int)pl;
        return true;
}

static bool d_p_form(const char *vdev, int *disk, int *part)
{
        int used = -1;
        return sscanf(vdev, "d%ip%i%n", disk, part, &used) >= 2 && used == (int)strlen(vdev) &&
               *disk >= 0 && *disk < (1 << 20) && *part >= 0 && *part < 256;
}

int ts_vdev_to_devid(const char *vdev, uint32_t *devid)
{
        int disk, part;
        if (!vdev || !*vdev)
                return -EINVAL;
        if (d_p_form(vdev, &disk, &part) ||
            virtdisk_matches(vdev, "xvd", (1 << 20) - 1, 255, &disk, &part)) {
                if (disk <= 15 && part <= 15)
                        *devid = (202u << 8) | ((uint32_t)disk << 4) | (uint32_t)part;
                else
                        *devid = (1u << 28) | ((uint32_t)disk << 8) | (uint32_t)part;
                return 0;
        }
        char *end = NULL;
        errno = 0;
        unsigned long ul = strtoul(vdev, &end, 0);
        if (!errno && !*end && vdev[0] != '-' && ul <= INT_MAX) {
                *devid = (uint32_t)ul;
                return 0;
        }
        if (virtdisk_matches(vdev, "hd", 3, 63, &disk, &part)) {
                *devid =
                    ((disk < 2 ? 3u : 22u) << 8) | ((uint32_t)(disk & 1) << 6) | (uint32_t)part;
                return 0;
        }
        if (virtdisk_matches(vdev, "sd", 15, 15, &disk, &part)) {
                *devid = (8u << 8) | ((uint32_t)disk << 4) | (uint32_t)part;
                return 0;
        }
        return -EINVAL;
}

int ts_vbd_build(const struct ts_vbd_cfg *cfg, struct ts_device *d)
{
        uint32_t devid;
        if (ts_vdev_to_devid(cfg->vdev, &devid) < 0)
                return -EINVAL;
        const char *type = cfg->cdrom ? "cdrom" : "disk";
        bool discard = cfg->discard < 0 ? !cfg->readonly : cfg->discard;
        ts_device_init(d, &ts_kind_vbd, cfg->domid, cfg->backend_domid, devid);
        /* device_disk_add's order: it writes the common keys itself. */
        int rc = ts_kvs_add(&d->back, "params", "%s", cfg->target ? cfg->target : "");
        rc = rc ?: ts_kvs_add(&d->back, "script", "%s", cfg->script);
        rc = rc ?: ts_kvs_add(&d->back, "frontend-id", "%u", cfg->domid);
        rc = rc ?: ts_kvs_add(&d->back, "online", "1");
        rc = rc ?: ts_kvs_add(&d->back, "removable", "%d", cfg->removable ? 1 : 0);
        rc = rc ?: ts_kvs_add(&d->back, "bootable", "1");
        rc = rc ?: ts_kvs_add(&d->back, "state", "1"); /* XenbusStateInitialising */
        rc = rc ?: ts_kvs_add(&d->back, "dev", "%s", cfg->vdev);
        rc = rc ?: ts_kvs_add(&d->back, "type", "phy");
        rc = rc ?: ts_kvs_add(&d->back, "mode", "%s", cfg->readonly ? "r" : "w");
        rc = rc ?: ts_kvs_add(&d->back, "device-type", "%s", type);
        if (rc == 0 && cfg->direct_io_safe)
                rc = ts_kvs_add(&d->back, "direct-io-safe", "1");
        rc = rc ?: ts_kvs_add(&d->back, "discard-enable", "%d", discard ? 1 : 0);
        rc = rc ?: ts_kvs_add(&d->back, "specification", "xen");

        rc = rc ?: ts_kvs_add(&d->front, "backend-id", "%u", cfg->backend_domid);
        rc = rc ?: ts_kvs_add(&d->front, "state", "1");
        rc = rc ?: ts_kvs_add(&d->front, "virtual-device", "%u", devid);
        rc = rc ?: ts_kvs_add(&d->front, "device-type", "%s", type);
        rc = rc ?: ts_kvs_add(&d->front, "trusted", "%s", cfg->untrusted ? "0" : "1");
        /* For old PV frontends that rely on the toolstack for the ABI. */
        if (rc == 0 && cfg->protocol)
                rc = ts_kvs_add(&d->front, "protocol", "%s", cfg->protocol);
        if (rc < 0)
                ts_device_free(d);
        return rc;
}

struct vbd_args {
        struct ts_opts o;
        struct ts_vbd_cfg cfg;
        bool protocol_set;
};

enum {
        OPT_TARGET = TS_OPT_KIND_FIRST,
        OPT_VDEV,
        OPT_MODE,
        OPT_DEVICE_TYPE,
        OPT_REMOVABLE,
        OPT_DIRECT_IO_SAFE,
        OPT_DISCARD,
        OPT_NO_DISCARD,
        OPT_PROTOCOL,
        OPT_UNTRUSTED,
};

static int vbd_option(struct vbd_args *a, int c, const char *arg)
{
        switch (c) {
        case OPT_TARGET:
                a->cfg.target = arg;
                return 0;
        case OPT_VDEV:
                a->cfg.vdev = arg;
                return 0;
        case OPT_MODE:
                if (strcmp(arg, "r") == 0 || strcmp(arg, "ro") == 0)
                        a->cfg.readonly = true;
                else if (strcmp(arg, "w") == 0 || strcmp(arg, "rw") == 0)
                        a->cfg.readonly = false;
                else
                        return ts_usage_error("vbd", "--mode: '%s' is not r or w", arg);
                return 0;
        case OPT_DEVICE_TYPE:
                if (strcmp(arg, "disk") != 0 && strcmp(arg, "cdrom") != 0)
                        return ts_usage_error("vbd", "--device-type: '%s' is not disk or cdrom",
                                              arg);
                a->cfg.cdrom = strcmp(arg, "cdrom") == 0;
                return 0;
        case OPT_REMOVABLE:
                a->cfg.removable = true;
                return 0;
        case OPT_DIRECT_IO_SAFE:
                a->cfg.direct_io_safe = true;
                return 0;
        case OPT_DISCARD:
        case OPT_NO_DISCARD:
                a->cfg.discard = c == OPT_DISCARD;
                return 0;
        case OPT_PROTOCOL:
                if (strcmp(arg, "none") != 0 && strcmp(arg, "x86_64-abi") != 0 &&
                    strcmp(arg, "x86_32-abi") != 0 && strcmp(arg, "arm-abi") != 0)
                        return ts_usage_error("vbd", "--protocol: unknown ABI '%s'", arg);
                a->cfg.protocol = strcmp(arg, "none") == 0 ? NULL : arg;
                a->protocol_set = true;
                return 0;
        case OPT_UNTRUSTED:
                a->cfg.untrusted = true;
                return 0;
        }
        return 0;
}

static int vbd_parse(struct vbd_args *a, int argc, char **argv)
{
        static const struct option opts[] = {
            TS_COMMON_LONGOPTS,
            {"target", required_argument, NULL, OPT_TARGET},
            {"params", required_argument, NULL, OPT_TARGET},
            {"vdev", required_argument, NULL, OPT_VDEV},
            {"mode", required_argument, NULL, OPT_MODE},
            {"device-type", required_argument, NULL, OPT_DEVICE_TYPE},
            {"removable", no_argument, NULL, OPT_REMOVABLE},
            {"direct-io-safe", no_argument, NULL, OPT_DIRECT_IO_SAFE},
            {"discard", no_argument, NULL, OPT_DISCARD},
            {"no-discard", no_argument, NULL, OPT_NO_DISCARD},
            {"protocol", required_argument, NULL, OPT_PROTOCOL},
            {"untrusted", no_argument, NULL, OPT_UNTRUSTED},
            {NULL, 0, NULL, 0},
        };
        int c, rc;
        a->cfg.discard = -1;
        optind = 1;
        while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
                if ((rc = ts_opts_common(&a->o, "vbd", c, optarg)) == 1)
                        continue;
                if (rc || (rc = vbd_option(a, c, optarg)) != 0)
                        return rc;
        }
        if (optind < argc)
                return ts_usage_error("vbd", "unexpected argument '%s'", argv[optind]);
        if (a->o.domid < 0)
                return ts_usage_error("vbd", "--domid is required");
        if (!a->cfg.vdev && a->o.devid < 0)
                return ts_usage_error("vbd", "--vdev (or --devid) is required");
        if (a->o.attach && !a->cfg.target && !a->cfg.cdrom)
                return ts_usage_error("vbd", "--target is required");
        return 0;
}

/* libxl__device_disk_set_backend for phy: without script= and with the
 * backend in the toolstack's domain, the target must be a block device or a
 * regular file. */
static int check_phy_target(const struct vbd_args *a)
{
        struct stat st;
        if (a->o.script || a->o.backend_domid != 0 || (a->cfg.cdrom && !a->cfg.target))
                return 0;
        if (stat(a->cfg.target, &st) < 0) {
                pv_err(NULL, "Disk vdev=%s failed to stat: %s: %s", a->cfg.vdev, a->cfg.target,
                       strerror(errno));
                return -EINVAL;
        }
        if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)) {
                pv_err(NULL, "no suitable backend for disk %s", a->cfg.vdev);
                return -EINVAL;
        }
        return 0;
}

static int vbd_attach(struct xs_handle *xs, struct vbd_args *a)
{
        struct ts_device d;
        uint32_t devid;
        if (ts_vdev_to_devid(a->cfg.vdev, &devid) < 0) {
                pv_err(NULL, "Domain %ld: Invalid or unsupported virtual disk identifier %s",
                       a->o.domid, a->cfg.vdev);
                return -EINVAL;
        }
        int rc = check_phy_target(a);
        if (rc < 0)
                return rc;
        char *script = ts_script_path(a->o.script ? a->o.script : "block");
        if (!script)
                return -ENOMEM;
        a->cfg.domid = (uint32_t)a->o.domid;
        a->cfg.backend_domid = (uint32_t)a->o.backend_domid;
        a->cfg.script = script;
        if (!a->protocol_set)
                a->cfg.protocol = "x86_64-abi"; /* xc_domain_get_native_protocol, x86_64 PV */
        rc = ts_vbd_build(&a->cfg, &d);
        if (rc == 0) {
                rc = ts_attach(xs, &d, &a->o.timeouts, a->o.no_wait);
                ts_device_free(&d);
        }
        free(script);
        return rc;
}

static int vbd_detach(struct xs_handle *xs, struct vbd_args *a)
{
        struct ts_device d;
        uint32_t devid = (uint32_t)a->o.devid;
        if (a->cfg.vdev && ts_vdev_to_devid(a->cfg.vdev, &devid) < 0) {
                pv_err(NULL, "Domain %ld: Invalid or unsupported virtual disk identifier %s",
                       a->o.domid, a->cfg.vdev);
                return -EINVAL;
        }
        ts_device_init(&d, &ts_kind_vbd, (uint32_t)a->o.domid, (uint32_t)a->o.backend_domid, devid);
        if (ts_device_lookup(xs, &d) < 0) {
                fprintf(stderr, "pvback-sim vbd: domain %ld has no vbd %s (id %u)\n", a->o.domid,
                        a->cfg.vdev ? a->cfg.vdev : "", devid);
                return -ENODEV;
        }
        return ts_detach(xs, &d, &a->o.timeouts, a->o.force, a->o.no_wait);
}

int toolstack_vbd_main(const char *dir, int argc, char **argv)
{
        struct vbd_args a = {0};
        int rc = ts_opts_begin(&a.o, "vbd", dir, argc, argv);
        if (rc == 0)
                rc = vbd_parse(&a, argc, argv);
        if (rc == 3) {
                fputs(vbd_help, stdout);
                fputs(ts_common_help, stdout);
                return 0;
        }
        if (rc)
                return rc;
        if (!a.cfg.vdev) {
                static char num[16];
                snprintf(num, sizeof(num), "%ld", a.o.devid);
                a.cfg.vdev = num;
        }
        struct xs_handle *xs = ts_connect("vbd", dir);
        if (!xs)
                return 1;
        rc = a.o.attach ? vbd_attach(xs, &a) : vbd_detach(xs, &a);
        xs_close(xs);
        return rc < 0 ? 1 : 0;
}

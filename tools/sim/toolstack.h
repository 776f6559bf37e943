/* The toolstack stand-in of pvback-sim: `pvback-sim vif|vbd attach|detach`
 * add and remove devices exactly as libxl 4.17 does (same keys, values,
 * permissions, transaction, waits, timeouts and hotplug-script contract), so a
 * backend that works here works under xl. It is not a domain builder. */
#ifndef PVBACK_SIM_TOOLSTACK_H
#define PVBACK_SIM_TOOLSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenstore.h>

/* libxl_internal.h: LIBXL_INIT_TIMEOUT, LIBXL_DESTROY_TIMEOUT, LIBXL_HOTPLUG_TIMEOUT. */
#define TS_INIT_TIMEOUT_MS    10000
#define TS_DESTROY_TIMEOUT_MS 10000
#define TS_HOTPLUG_TIMEOUT_MS 40000
/* libxl__xen_script_dir_path() on Debian. */
#define TS_SCRIPT_DIR "/etc/xen/scripts"

/* Entry points for tools/sim/main.c. argv[0] is "attach" or "detach"; dir is
 * the simulated host's state directory. Return a process exit status: 0 ok,
 * 1 failure (reason on stderr), 2 bad usage. */
int toolstack_vif_main(const char *dir, int argc, char **argv);
int toolstack_vbd_main(const char *dir, int argc, char **argv);

/* ---- key sets (libxl's flexarrays) -------------------------------------- */

#define TS_MAX_KVS 32
struct ts_kv {
        const char *key; /* a string literal */
        char *val;
};
struct ts_kvs {
        size_t n;
        struct ts_kv v[TS_MAX_KVS];
};

int ts_kvs_add(struct ts_kvs *kv, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The value of key, or NULL. */
const char *ts_kvs_get(const struct ts_kvs *kv, const char *key);
void ts_kvs_free(struct ts_kvs *kv);

/* ---- devices ------------------------------------------------------------ */

enum ts_action { TS_ADD, TS_REMOVE };

struct ts_device;

/* A script invocation: argv and "NAME=value" environment, both NULL-ended. */
#define TS_HOTPLUG_MAX_ARGS 6
#define TS_HOTPLUG_MAX_ENV  16
struct ts_hotplug {
        char *argv[TS_HOTPLUG_MAX_ARGS];
        size_t nargv;
        char *env[TS_HOTPLUG_MAX_ENV];
        size_t nenv;
};

/* What differs between device kinds once the keys are written. */
struct ts_kind {
        const char *name; /* "vif", "vbd": the kind in every path */
        /* Appends the action arguments and the kind's extra environment
         * (libxl_linux.c libxl__hotplug_nic / libxl__hotplug_disk). */
        int (*hotplug_args)(struct xs_handle *xs, const struct ts_device *d, enum ts_action action,
                            struct ts_hotplug *hp);
};

struct ts_device {
        const struct ts_kind *kind;
        uint32_t domid; /* frontend domain */
        uint32_t backend_domid;
        uint32_t devid;
        struct ts_kvs back;     /* backend keys (libxl: bents) */
        struct ts_kvs front;    /* frontend keys owned by the guest (fents) */
        struct ts_kvs ro_front; /* frontend keys read-only to the guest (ro_fents) */
};

void ts_device_init(struct ts_device *d, const struct ts_kind *kind, uint32_t domid,
                    uint32_t backend_domid, uint32_t devid);
/* The keys libxl__device_add_async gives every device before the kind's own:
 * frontend-id, online=1, state=1 in the backend; backend-id, state=1 in the
 * frontend. (vbd writes the same keys itself, in device_disk_add's order.) */
int ts_device_common_keys(struct ts_device *d);
void ts_device_free(struct ts_device *d);

/* Key sets of the two kinds, built without any I/O. */
struct ts_vif_cfg {
        uint32_t domid, backend_domid, devid;
        const char *script; /* absolute */
        uint8_t mac[6];
        const char *bridge;                    /* NULL: xenbr0 */
        const char *vifname, *ip, *gatewaydev; /* NULL: not written */
        uint64_t rate_bytes;
        uint32_t rate_usecs; /* 0: no rate key */
        unsigned mtu;        /* 0: 1500 */
        bool untrusted;
};
int ts_vif_build(const struct ts_vif_cfg *cfg, struct ts_device *d);

struct ts_vbd_cfg {
        uint32_t domid, backend_domid;
        const char *vdev;   /* as configured; the device id is derived from it */
        const char *target; /* params */
        const char *script; /* absolute */
        bool readonly, cdrom, removable, direct_io_safe, untrusted;
        int discard;          /* -1: libxl's default (enabled for mode w) */
        const char *protocol; /* NULL: not written (HVM guest) */
};
int ts_vbd_build(const struct ts_vbd_cfg *cfg, struct ts_device *d);
extern const struct ts_kind ts_kind_vif, ts_kind_vbd;

/* /local/domain/<bdom>/backend/<kind>/<dom>/<devid>,
 * /local/domain/<dom>/device/<kind>/<devid>, /libxl/<dom>/device/<kind>/<devid>. */
int ts_backend_path(const struct ts_device *d, char *buf, size_t len);
int ts_frontend_path(const struct ts_device *d, char *buf, size_t len);
int ts_libxl_path(const struct ts_device *d, char *buf, size_t len);
/* "/local/domain/%d/backend/%15[^/]/%u/%d" as libxl__parse_backend_path. */
int ts_parse_backend_path(const char *path, uint32_t *backend_domid, char kind[16], uint32_t *domid,
                          uint32_t *devid);

/* ---- the operations ----------------------------------------------------- */

struct ts_timeouts {
        int init_ms;    /* backend → InitWait */
        int destroy_ms; /* backend → Closed */
        int hotplug_ms; /* script run */
};

/* Adds the device: writes both directories and the libxl copy in one
 * transaction; unless no_wait, waits for InitWait, runs the hotplug script
 * and checks hotplug-status. Logs libxl's messages; returns 0 or -errno. */
int ts_attach(struct xs_handle *xs, const struct ts_device *d, const struct ts_timeouts *t,
              bool no_wait);
/* Fills d (kind, domid, devid set by the caller) from the libxl copy: the
 * backend domain. -ENODEV if the device does not exist. */
int ts_device_lookup(struct xs_handle *xs, struct ts_device *d);
/* Removes the device: online=0 + state=5 in one transaction, waits for
 * Closed, runs the script, removes all three directories. force = libxl's
 * LIBXL__FORCE_ON (destroy) rather than FORCE_AUTO (remove). no_wait stops
 * after the closing transaction. */
int ts_detach(struct xs_handle *xs, const struct ts_device *d, const struct ts_timeouts *t,
              bool force, bool no_wait);

/* libxl__xs_path_cleanup: removes path, then each parent left empty. */
int ts_path_cleanup(struct xs_handle *xs, xs_transaction_t t, const char *path);
/* libxl__device_generic_add for d inside t (-EEXIST if the libxl copy exists). */
int ts_device_write(struct xs_handle *xs, xs_transaction_t t, const struct ts_device *d);
/* libxl__device_destroy: removes the frontend, libxl and backend directories. */
int ts_device_destroy(struct xs_handle *xs, const struct ts_device *d);
/* "Domain <domid>", the context libxl's LOGD prefixes. */
const char *ts_ctx(const struct ts_device *d, char *buf, size_t len);

/* Watches path until check(value or NULL if absent, arg) returns 1 (→ 0) or
 * < 0 (→ that), or timeout_ms passes (→ -ETIMEDOUT). */
int ts_xswait(struct xs_handle *xs, const char *path, int timeout_ms,
              int (*check)(const char *value, void *arg), void *arg);

/* Runs the device's hotplug script as libxl's device_hotplug does. Returns 0,
 * -ETIMEDOUT (killed), -EIO (non-zero exit, hotplug-error printed) or -errno. */
int ts_hotplug_run(struct xs_handle *xs, const struct ts_device *d, enum ts_action action,
                   int timeout_ms);
/* Builds argv and environment without running anything (exposed for tests). */
int ts_hotplug_prepare(struct xs_handle *xs, const struct ts_device *d, enum ts_action action,
                       struct ts_hotplug *hp);
void ts_hotplug_free(struct ts_hotplug *hp);
int ts_hotplug_add_env(struct ts_hotplug *hp, const char *name, const char *value);
int ts_hotplug_add_arg(struct ts_hotplug *hp, const char *arg);

/* ---- command line ------------------------------------------------------- */

/* Options every kind takes; filled by ts_opts_parse_common(). */
struct ts_opts {
        const char *dir;
        char **argv;
        bool attach;
        long domid, devid, backend_domid; /* -1: not given */
        const char *script;
        struct ts_timeouts timeouts;
        bool no_wait, force, verbose;
};

enum {
        TS_OPT_DOMID = 0x100,
        TS_OPT_DEVID,
        TS_OPT_BACKEND_DOMID,
        TS_OPT_SCRIPT,
        TS_OPT_TIMEOUT,
        TS_OPT_HOTPLUG_TIMEOUT,
        TS_OPT_NO_WAIT,
        TS_OPT_FORCE,
        TS_OPT_VERBOSE,
        TS_OPT_HELP,
        TS_OPT_KIND_FIRST = 0x200, /* kind-specific options start here */
};

#define TS_COMMON_LONGOPTS                                                                         \
        {"domid", required_argument, NULL, TS_OPT_DOMID},                                          \
            {"devid", required_argument, NULL, TS_OPT_DEVID},                                      \
            {"backend-domid", required_argument, NULL, TS_OPT_BACKEND_DOMID},                      \
            {"backend", required_argument, NULL, TS_OPT_BACKEND_DOMID},                            \
            {"script", required_argument, NULL, TS_OPT_SCRIPT},                                    \
            {"timeout", required_argument, NULL, TS_OPT_TIMEOUT},                                  \
            {"hotplug-timeout", required_argument, NULL, TS_OPT_HOTPLUG_TIMEOUT},                  \
            {"no-wait", no_argument, NULL, TS_OPT_NO_WAIT},                                        \
            {"force", no_argument, NULL, TS_OPT_FORCE},                                            \
            {"verbose", no_argument, NULL, TS_OPT_VERBOSE},                                        \
        {                                                                                          \
                "help", no_argument, NULL, TS_OPT_HELP                                             \
        }

/* Starts parsing: checks argv[0] is attach/detach and sets defaults.
 * Returns 0, or 2 after printing a usage error. */
int ts_opts_begin(struct ts_opts *o, const char *kind, const char *dir, int argc, char **argv);
/* Handles one common option: 1 handled, 0 not a common option, 2 usage error
 * (printed), 3 help requested. */
int ts_opts_common(struct ts_opts *o, const char *kind, int c, const char *arg);
/* Help text of the common options, printed after each kind's own. */
extern const char ts_common_help[];
/* Parses a decimal number in [min, max]; prints a usage error naming opt. */
int ts_parse_long(const char *kind, const char *opt, const char *arg, long min, long max,
                  long *out);
/* Prints "pvback-sim <kind>: <msg>" and the help hint; returns 2. */
int ts_usage_error(const char *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Connects to the host's xenstored as domain 0 (the toolstack domain) and
 * exports XENSTORED_PATH for the hotplug scripts. Prints why on failure. */
struct xs_handle *ts_connect(const char *kind, const char *dir);

/* ---- pure helpers (tested in tests/unit) -------------------------------- */

/* libxl__device_disk_dev_number: xvda → 51712, xvdq → 268439552, hdc → 5632,
 * sdb1 → 2065, d0p1 → 51713, "51712" → 51712. -EINVAL if not a vdev. */
int ts_vdev_to_devid(const char *vdev, uint32_t *devid);
/* xl's rate syntax (libxlu_vif.c): "10Mb/s@20ms" → 25000 bytes per 20000 us;
 * the interval defaults to 50 ms. */
int ts_parse_rate(const char *rate, uint64_t *bytes_per_interval, uint32_t *interval_usecs);
/* libxl__abs_path(script, TS_SCRIPT_DIR). Caller frees. */
char *ts_script_path(const char *script);

#endif

/* Command-line plumbing shared by `pvback-sim vif` and `pvback-sim vbd`: the
 * common options, number parsing with usage errors, and the connection to
 * the simulated host's xenstored as the toolstack domain (dom0). */
#include "toolstack.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "sim_paths.h"

int ts_usage_error(const char *kind, const char *fmt, ...)
{
        va_list ap;
        fprintf(stderr, "pvback-sim %s: ", kind);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'pvback-sim %s --help'.\n", kind);
        return 2;
}

int ts_parse_long(const char *kind, const char *opt, const char *arg, long min, long max, long *out)
{
        char *end = NULL;
        errno = 0;
        long v = strtol(arg, &end, 10);
        if (errno || end == arg || *end || v < min || v > max)
                return ts_usage_error(kind, "--%s: '%s' is not a number in %ld..%ld", opt, arg, min,
                                      max);
        *out = v;
        return 0;
}

/* Seconds, fractions allowed ("0.5"), to milliseconds. */
static int parse_seconds(const char *kind, const char *opt, const char *arg, int *ms)
{
        char *end = NULL;
        errno = 0;
        double s = strtod(arg, &end);
        if (errno || end == arg || *end || !(s > 0) || s > 3600)
                return ts_usage_error(kind, "--%s: '%s' is not a number of seconds in (0, 3600]",
                                      opt, arg);
        *ms = (int)(s * 1000 + 0.999); /* round up: never below what was asked */
        return 0;
}

int ts_opts_begin(struct ts_opts *o, const char *kind, const char *dir, int argc, char **argv)
{
        memset(o, 0, sizeof(*o));
        o->dir = dir;
        o->domid = o->devid = -1;
        o->backend_domid = 0;
        o->timeouts =
            (struct ts_timeouts){TS_INIT_TIMEOUT_MS, TS_DESTROY_TIMEOUT_MS, TS_HOTPLUG_TIMEOUT_MS};
        o->argv = argv;
        opterr = 0; /* getopt would name argv[0] ("attach"); we name the option */
        pv_log_init("pvback-sim", false, PV_LOG_INFO);
        if (argc < 1)
                return ts_usage_error(kind, "missing attach or detach");
        if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)
                return 3;
        if (strcmp(argv[0], "attach") == 0)
                o->attach = true;
        else if (strcmp(argv[0], "detach") != 0)
                return ts_usage_error(kind, "unknown command '%s' (attach or detach)", argv[0]);
        return 0;
}

int ts_opts_common(struct ts_opts *o, const char *kind, int c, const char *arg)
{
        switch (c) {
        case TS_OPT_DOMID:
                /* Domain 0 is the toolstack domain, never a frontend here. */
                return ts_parse_long(kind, "domid", arg, 1, 0x7FEF, &o->domid) ?: 1;
        case TS_OPT_DEVID:
                return ts_parse_long(kind, "devid", arg, 0, INT_MAX, &o->devid) ?: 1;
        case TS_OPT_BACKEND_DOMID:
                return ts_parse_long(kind, "backend-domid", arg, 0, 0x7FEF, &o->backend_domid) ?: 1;
        case TS_OPT_SCRIPT:
                o->script = arg;
                return 1;
        case TS_OPT_TIMEOUT:
                if (parse_seconds(kind, "timeout", arg, &o->timeouts.init_ms))
                        return 2;
                o->timeouts.destroy_ms = o->timeouts.init_ms;
                return 1;
        case TS_OPT_HOTPLUG_TIMEOUT:
                return parse_seconds(kind, "hotplug-timeout", arg, &o->timeouts.hotplug_ms) ?: 1;
        case TS_OPT_NO_WAIT:
                o->no_wait = true;
                return 1;
        case TS_OPT_FORCE:
                o->force = true;
                return 1;
        case TS_OPT_VERBOSE:
        case 'v':
                o->verbose = true;
                pv_log_init("pvback-sim", false, PV_LOG_DEBUG);
                return 1;
        case TS_OPT_HELP:
        case 'h':
                return 3;
        case '?':
                return ts_usage_error(kind, "unknown option or missing argument: %s",
                                      o->argv[optind - 1]);
        default:
                return 0;
        }
}

char *ts_script_path(const char *script)
{
        char *p = NULL;
        if (script[0] == '/')
                return strdup(script);
        return asprintf(&p, "%s/%s", TS_SCRIPT_DIR, script) < 0 ? NULL : p;
}

struct xs_handle *ts_connect(const char *kind, const char *dir)
{
        char abs[PATH_MAX], sock[PATH_MAX];
        struct stat st;
        if (!realpath(dir, abs) || sim_path_dom(sock, sizeof(sock), abs, 0, SIM_XS_SOCK) < 0 ||
            stat(sock, &st) < 0 || !S_ISSOCK(st.st_mode)) {
                fprintf(stderr,
                        "pvback-sim %s: no simulated host is running in %s (start one with "
                        "'pvback-sim start --dir %s')\n",
                        kind, dir, dir);
                return NULL;
        }
        /* libxenstore's xs_open() honours it; the hotplug scripts inherit it. */
        setenv("XENSTORED_PATH", sock, 1);
        struct xs_handle *xs = xs_open(0);
        if (!xs)
                fprintf(stderr, "pvback-sim %s: cannot connect to %s: %s\n", kind, sock,
                        strerror(errno));
        return xs;
}

const char ts_common_help[] =
    "  --backend-domid N   domain serving the device (default 0). libxl runs hotplug\n"
    "                      scripts only for backends in its own domain (0); for any\n"
    "                      other, a driver domain's 'xl devd' would, so attach skips\n"
    "                      the script and detach waits for the backend to remove its\n"
    "                      directory instead\n"
    "  --timeout SEC       how long to wait for the backend to reach InitWait (attach)\n"
    "                      or Closed (detach); default 10, libxl's LIBXL_INIT_TIMEOUT\n"
    "                      and LIBXL_DESTROY_TIMEOUT. Fractions allowed (0.5)\n"
    "  --hotplug-timeout SEC  limit for the hotplug script, killed after it\n"
    "                      (default 40, LIBXL_HOTPLUG_TIMEOUT)\n"
    "  --no-wait           attach: write the directories and return, without waiting\n"
    "                      or running the script; detach: write online=0 and state=5\n"
    "                      and return\n"
    "  --force             detach: a forced remove as in 'xl destroy': the frontend\n"
    "                      directory goes at once and the directories are removed even\n"
    "                      if the backend never reaches Closed. Without it a timeout\n"
    "                      is followed by one forced attempt, as libxl does\n"
    "  --dir DIR           state directory of the simulated host\n"
    "  -v, --verbose       log each step in libxl's words (as xl -vvv)\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 on success; 1 on failure, with libxl's messages on stderr\n"
    "(\"unable to add device with path ...\" after a timeout, the script's\n"
    "hotplug-error after a failing script); 2 on bad usage.\n";

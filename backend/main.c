/* pvbackd: the userspace Xen backend daemon. Parses options, picks the
 * hypervisor provider, daemonizes if asked, and runs the device manager until
 * SIGTERM/SIGINT, then disconnects every device cleanly and exits 0. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "classes.h"
#include "cpulist.h"
#include "ctl.h"
#include "ctl_proto.h"
#include "devmgr.h"
#include "log.h"
#include "xh.h"

#define MAX_OPTIONS 64

static const char usage_text[] =
        "Usage: pvbackd [OPTIONS]\n"
        "\n"
        "Serves the Xen PV network (vif) and block (vbd) backends of the domain it runs in\n"
        "(dom0 or a driver domain): watches /local/domain/<self>/backend for the devices xl\n"
        "creates, follows libxl's hotplug handshake and serves unmodified frontends.\n"
        "\n"
        "Options:\n"
        "  --hypervisor xen|sim   hypervisor provider (default: $PVBACK_HYPERVISOR, else\n"
        "                         auto-detected: /dev/xen/evtchn, else the simulator)\n"
        "  -f, --foreground       stay in the foreground (logs to stderr)\n"
        "  --syslog               log to syslog (default when not in the foreground)\n"
        "  --log-level LEVEL      error, warning, info (default) or debug\n"
        "  --workers N            data-path worker threads (default: one per CPU, or per\n"
        "                         CPU of --worker-cpus)\n"
        "  --worker-cpus LIST     pin worker i to the i-th CPU of LIST (CPUs and ranges:\n"
        "                         0-3,8), wrapping around; default: not pinned. The\n"
        "                         control thread and vbd.engine=threads' I/O threads\n"
        "                         stay unpinned\n"
        "  --pidfile PATH         write the daemon's pid to PATH\n"
        "  --control-socket PATH  where pvback-inspect finds the daemon (default\n"
        "                         " CTL_DEFAULT_PATH "; with the simulator\n"
        "                         $PVBACK_SIM_DIR/pvbackd-dom<N>.sock, N our domain).\n"
        "                         Root only (mode 0600); a second pvbackd on the same\n"
        "                         path refuses to start\n"
        "  -o, --option CLASS.KEY=VALUE\n"
        "                         a device-class option (list below); repeatable\n"
        "  -h, --help             this text\n"
        "\n"
        "Signals: SIGTERM or SIGINT disconnect every device (state Closed, rings unmapped,\n"
        "netdevs removed) and exit 0.\n"
        "Exit status: 0 after a clean stop, 1 on a runtime failure, 2 on bad usage.\n"
        "\n"
        "Device-class options:\n";

struct options {
        const char *hypervisor;
        bool foreground;
        bool syslog;
        enum pv_log_level level;
        unsigned workers;
        bool pin_workers;
        cpu_set_t worker_cpus;
        const char *pidfile;
        const char *control_socket;
        const char *class_opts[MAX_OPTIONS];
        unsigned nr_class_opts;
        bool help;
};

static int parse_level(const char *s, enum pv_log_level *out)
{
        static const struct {
                const char *name;
                enum pv_log_level level;
        } levels[] = {{"error", PV_LOG_ERR},
                      {"warning", PV_LOG_WARN},
                      {"info", PV_LOG_INFO},
                      {"debug", PV_LOG_DEBUG}};
        for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
                if (!strcmp(s, levels[i].name)) {
                        *out = levels[i].level;
                        return 0;
                }
        }
        return -EINVAL;
}

static int usage_error(const char *what, const char *arg)
{
        fprintf(stderr, "pvbackd: %s '%s'\nTry 'pvbackd --help'.\n", what, arg);
        return 2;
}

/* A list of CPUs this process may run on; a malformed list or one naming
 * other CPUs is a usage error (2) that says which CPUs are allowed. */
static int parse_worker_cpus(const char *arg, cpu_set_t *out)
{
        cpu_set_t allowed, both;
        char list[PV_CPULIST_MAX];
        if (pv_cpulist_parse(arg, out) < 0)
                return usage_error("--worker-cpus needs a CPU list such as 0-3,8, not", arg);
        if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0) {
                fprintf(stderr, "pvbackd: cannot read the CPUs pvbackd may run on: %s\n",
                        strerror(errno));
                return 1;
        }
        CPU_AND(&both, out, &allowed);
        if (!CPU_EQUAL(&both, out)) {
                pv_cpulist_format(&allowed, list, sizeof(list));
                fprintf(stderr, "pvbackd: --worker-cpus '%s': pvbackd may only run on CPUs %s\n",
                        arg, list);
                return 2;
        }
        return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
        static const struct option longopts[] = {{"hypervisor", required_argument, NULL, 'H'},
                                                 {"foreground", no_argument, NULL, 'f'},
                                                 {"syslog", no_argument, NULL, 'S'},
                                                 {"log-level", required_argument, NULL, 'L'},
                                                 {"workers", required_argument, NULL, 'w'},
                                                 {"worker-cpus", required_argument, NULL, 'c'},
                                                 {"pidfile", required_argument, NULL, 'p'},
                                                 {"control-socket", required_argument, NULL, 'C'},
                                                 {"option", required_argument, NULL, 'o'},
                                                 {"help", no_argument, NULL, 'h'},
                                                 {NULL, 0, NULL, 0}};
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        bool workers_given = false;
        int c, rc;
        *o = (struct options){.level = PV_LOG_INFO, .workers = cpus > 0 ? (unsigned)cpus : 1};
        while ((c = getopt_long(argc, argv, "fo:h", longopts, NULL)) != -1) {
                char *end = NULL;
                long v;
                switch (c) {
                case 'H':
                        o->hypervisor = optarg;
                        break;
                case 'f':
                        o->foreground = true;
                        break;
                case 'S':
                        o->syslog = true;
                        break;
                case 'L':
                        if (parse_level(optarg, &o->level) < 0)
                                return usage_error("unknown log level", optarg);
                        break;
                case 'w':
                        v = strtol(optarg, &end, 10);
                        if (*end || end == optarg || v < 1 || v > 256)
                                return usage_error("--workers needs 1..256, not", optarg);
                        o->workers = (unsigned)v;
                        workers_given = true;
                        break;
                case 'c':
                        if ((rc = parse_worker_cpus(optarg, &o->worker_cpus)) != 0)
                                return rc;
                        o->pin_workers = true;
                        break;
                case 'p':
                        o->pidfile = optarg;
                        break;
                case 'C':
                        if (!*optarg)
                                return usage_error("--control-socket needs a path, not", optarg);
                        o->control_socket = optarg;
                        break;
                case 'o':
                        if (o->nr_class_opts == MAX_OPTIONS)
                                return usage_error("too many options at", optarg);
                        o->class_opts[o->nr_class_opts++] = optarg;
                        break;
                case 'h':
                        o->help = true;
                        break;
                default:
                        return 2;
                }
        }
        if (optind < argc)
                return usage_error("unexpected argument", argv[optind]);
        /* One worker per CPU of the list, not per CPU of the machine. */
        if (o->pin_workers && !workers_given) {
                int n = CPU_COUNT(&o->worker_cpus);
                o->workers = n > 256 ? 256 : (unsigned)n;
        }
        return 0;
}

static int write_pidfile(const char *path)
{
        FILE *f = fopen(path, "we");
        if (!f)
                return -errno;
        fprintf(f, "%ld\n", (long)getpid());
        return fclose(f) == 0 ? 0 : -errno;
}

/* Classic double fork: the daemon is no session leader and cannot regain a
 * terminal; the caller returns once the child is detached. */
static int daemonize(void)
{
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid > 0)
                _exit(0);
        if (setsid() < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid > 0)
                _exit(0);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
                dup2(null, STDIN_FILENO);
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
                close(null);
        }
        return chdir("/") < 0 ? -errno : 0;
}

static int open_stop_fd(void)
{
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
                return -errno;
        int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        return fd < 0 ? -errno : fd;
}

/* Before daemonizing: a second pvbackd is refused while it can still say
 * so on the terminal. */
static int open_control_socket(const struct options *o, const struct xh_provider *hv,
                               struct ctl_server **srv)
{
        char path[PATH_MAX], err[512];
        int rc;
        if (o->control_socket) {
                snprintf(path, sizeof(path), "%s", o->control_socket);
        } else if ((rc = ctl_default_path(!strcmp(xh_provider_name(hv), "sim"), path,
                                          sizeof(path))) < 0) {
                fprintf(stderr,
                        "pvbackd: no default control socket path (%s); give "
                        "--control-socket PATH\n",
                        strerror(-rc));
                return rc;
        }
        if ((rc = ctl_server_open(path, srv, err, sizeof(err))) < 0)
                fprintf(stderr, "pvbackd: control socket: %s\n", err);
        return rc;
}

static int register_classes(struct devmgr *mgr)
{
        for (size_t i = 0; be_classes[i]; i++) {
                int rc = devmgr_register_class(mgr, be_classes[i]);
                if (rc < 0)
                        return rc;
        }
        return 0;
}

int main(int argc, char **argv)
{
        struct options o;
        const struct xh_provider *hv;
        struct devmgr *mgr = NULL;
        struct ctl_server *ctl = NULL;
        char err[512];
        int rc = parse_options(argc, argv, &o);
        if (rc)
                return rc;

        if (o.help) {
                fputs(usage_text, stdout);
                for (size_t i = 0; be_classes[i]; i++)
                        if (be_classes[i]->options_help)
                                fputs(be_classes[i]->options_help, stdout);
                fputs(DEVMGR_OPTIONS_HELP, stdout);
                return 0;
        }
        pv_log_init("pvbackd", o.syslog || !o.foreground, o.level);
        signal(SIGPIPE, SIG_IGN);

        if ((rc = xh_provider_select(o.hypervisor, &hv, err, sizeof(err))) < 0) {
                fprintf(stderr, "pvbackd: %s\n", err);
                return 1;
        }
        if (open_control_socket(&o, hv, &ctl) < 0)
                return 1;
        if (!o.foreground && (rc = daemonize()) < 0) {
                fprintf(stderr, "pvbackd: cannot become a daemon: %s\n", strerror(-rc));
                ctl_server_close(ctl);
                return 1;
        }
        if (o.pidfile && (rc = write_pidfile(o.pidfile)) < 0) {
                pv_err("pvbackd", "cannot write %s: %s", o.pidfile, strerror(-rc));
                ctl_server_close(ctl);
                return 1;
        }
        int stop_fd = open_stop_fd();
        if (stop_fd < 0) {
                pv_err("pvbackd", "cannot set up signal handling: %s", strerror(-stop_fd));
                ctl_server_close(ctl);
                return 1;
        }

        struct devmgr_config cfg = {.hv = hv,
                                    .nr_workers = o.workers,
                                    .worker_cpus = o.pin_workers ? &o.worker_cpus : NULL};
        if ((rc = devmgr_create(&cfg, &mgr)) < 0)
                goto out;
        if ((rc = register_classes(mgr)) < 0)
                goto out;
        for (unsigned i = 0; i < o.nr_class_opts; i++) {
                if ((rc = devmgr_configure(mgr, o.class_opts[i])) < 0) {
                        devmgr_destroy(mgr);
                        ctl_server_close(ctl);
                        close(stop_fd);
                        return 2;
                }
        }
        struct ctl_info info = {.hypervisor = xh_provider_name(hv), .workers = o.workers};
        if ((rc = ctl_server_start(ctl, mgr, &info)) < 0) {
                pv_err("pvbackd", "cannot serve the control socket: %s", strerror(-rc));
                goto out;
        }
        pv_info("pvbackd", "hypervisor provider '%s'", xh_provider_name(hv));
        rc = devmgr_run(mgr, stop_fd);
        if (rc < 0)
                pv_err("pvbackd", "stopped on an error: %s", strerror(-rc));
        else
                pv_info("pvbackd", "stopping: disconnecting every device");
out:
        /* First: from here on nobody answers, and a client should find no
         * socket rather than one that never replies. */
        ctl_server_close(ctl);
        devmgr_destroy(mgr);
        close(stop_fd);
        if (o.pidfile)
                unlink(o.pidfile);
        return rc < 0 ? 1 : 0;
}

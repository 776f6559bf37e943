/* pvback-sim: command-line front of the simulated Xen host. Parses the
 * subcommand and hands over to the daemon (host.c), its control socket, or the
 * toolstack stand-in (toolstack_*.c). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "log.h"
#include "sim_paths.h"
#include "toolstack.h"
#include "xh.h"

static const char usage_text[] =
        "Usage: pvback-sim COMMAND [--dir DIR] [OPTIONS]\n"
        "\n"
        "A simulated Xen host on one Linux machine: a xenstored speaking the real wire\n"
        "protocol, per-domain grant tables and event channels, and a toolstack stand-in\n"
        "that adds devices as libxl 4.17 does. pvbackd and the userspace frontends run\n"
        "against it unchanged (provider \"sim\" of the hypervisor seam).\n"
        "\n"
        "Commands:\n"
        "  start [--foreground]        start a host (domain 0 exists); without --foreground\n"
        "                              it runs in the background and logs to syslog\n"
        "  stop                        tear the host down and remove every file it made\n"
        "  domain create --domid N     create domain N (fires @introduceDomain)\n"
        "  domain destroy --domid N    destroy domain N as Xen does (@releaseDomain)\n"
        "  domain list                 list the domains, one id per line\n"
        "  socket --domid N            print the xenstored socket acting as domain N\n"
        "  env --domid N               print the shell 'export' lines that make a process\n"
        "                              act as domain N: eval \"$(pvback-sim env --domid 5)\"\n"
        "  vif attach|detach ...       add or remove a vif as libxl does (--help for options)\n"
        "  vbd attach|detach ...       add or remove a vbd as libxl does (--help for options)\n"
        "\n"
        "Options:\n"
        "  --dir DIR    state directory (default $" SIM_ENV_DIR ", else " SIM_DEFAULT_DIR ")\n"
        "  -h, --help   this text\n"
        "\n"
        "Exit status: 0 on success, 1 on failure (the reason is printed), 2 on bad usage.\n";

static int usage_error(const char *fmt, const char *arg)
{
        fprintf(stderr, "pvback-sim: ");
        fprintf(stderr, fmt, arg);
        fprintf(stderr, "\nTry 'pvback-sim --help'.\n");
        return 2;
}

/* Removes "--dir X" / "--dir=X" from argv wherever it stands, so every
 * subcommand (including the toolstack's own parser) accepts it. */
static const char *take_dir_option(int *argc, char **argv)
{
        const char *dir = NULL;
        int out = 0;
        for (int i = 0; i < *argc; i++) {
                if (strcmp(argv[i], "--dir") == 0 && i + 1 < *argc) {
                        dir = argv[++i];
                        continue;
                }
                if (strncmp(argv[i], "--dir=", 6) == 0) {
                        dir = argv[i] + 6;
                        continue;
                }
                argv[out++] = argv[i];
        }
        argv[out] = NULL;
        *argc = out;
        if (!dir)
                sim_env_dir(&dir);
        return dir ? dir : SIM_DEFAULT_DIR;
}

static int parse_domid_opt(int argc, char **argv, long *domid)
{
        static const struct option opts[] = {{"domid", required_argument, NULL, 'd'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        int c;
        *domid = -1;
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                char *end = NULL;
                switch (c) {
                case 'd':
                        errno = 0;
                        *domid = strtol(optarg, &end, 10);
                        if (errno || *end || end == optarg || *domid < 0 || *domid >= 0x7FF0)
                                return usage_error("invalid domid '%s'", optarg);
                        break;
                case 'h':
                        fputs(usage_text, stdout);
                        exit(0);
                default:
                        return 2;
                }
        }
        if (optind < argc)
                return usage_error("unexpected argument '%s'", argv[optind]);
        return 0;
}

static int cmd_start(const char *dir, int argc, char **argv)
{
        bool foreground = false;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--foreground") == 0 || strcmp(argv[i], "-f") == 0)
                        foreground = true;
                else
                        return usage_error("unexpected argument '%s'", argv[i]);
        }
        long running = sim_host_pid(dir);
        if (running > 0) {
                fprintf(stderr, "pvback-sim: a simulated host is already running in %s (pid %ld)\n",
                        dir, running);
                return 1;
        }
        if (foreground) {
                pv_log_init("pvback-sim", false, PV_LOG_INFO);
                return sim_host_run(dir, -1);
        }

        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0) {
                perror("pvback-sim: pipe");
                return 1;
        }
        pid_t pid = fork();
        if (pid < 0) {
                perror("pvback-sim: fork");
                return 1;
        }
        if (pid == 0) {
                close(pfd[0]);
                setsid();
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null >= 0) {
                        dup2(null, STDIN_FILENO);
                        dup2(null, STDOUT_FILENO);
                        dup2(null, STDERR_FILENO);
                }
                pv_log_init("pvback-sim", true, PV_LOG_INFO);
                _exit(sim_host_run(dir, pfd[1]));
        }
        close(pfd[1]);
        char status = '1';
        ssize_t n;
        do {
                n = read(pfd[0], &status, 1);
        } while (n < 0 && errno == EINTR);
        close(pfd[0]);
        if (n != 1 || status != '0') {
                fprintf(stderr, "pvback-sim: the simulated host in %s failed to start (see the "
                                "system log, or run with --foreground)\n",
                        dir);
                return 1;
        }
        printf("simulated host running in %s (pid %ld)\n", dir, (long)pid);
        return 0;
}

static int cmd_stop(const char *dir, int argc, char **argv)
{
        char err[512];
        if (argc > 1)
                return usage_error("unexpected argument '%s'", argv[1]);
        long pid = sim_host_pid(dir);
        if (pid < 0) {
                fprintf(stderr, "pvback-sim: no simulated host is running in %s\n", dir);
                return 1;
        }
        if (sim_ctl_call(dir, "stop", NULL, 0, err, sizeof(err)) < 0) {
                fprintf(stderr, "pvback-sim: %s\n", err);
                return 1;
        }
        /* The daemon answers before tearing down; wait until its teardown is
         * over so a following start or cleanup sees a settled directory. The
         * pid file goes last; kill(pid, 0) alone would also wait for a zombie
         * whose parent has not reaped it yet. */
        char pidfile[PATH_MAX];
        sim_path_host(pidfile, sizeof(pidfile), dir, SIM_PID_FILE);
        for (int i = 0; i < 300 && kill((pid_t)pid, 0) == 0 && access(pidfile, F_OK) == 0; i++) {
                struct timespec ts = {0, 50 * 1000 * 1000};
                nanosleep(&ts, NULL);
        }
        if (kill((pid_t)pid, 0) == 0 && access(pidfile, F_OK) == 0) {
                fprintf(stderr, "pvback-sim: host pid %ld did not exit within 15 s\n", pid);
                return 1;
        }
        return 0;
}

static int cmd_domain(const char *dir, int argc, char **argv)
{
        char cmd[64], out[65536], err[512];
        long domid;
        if (argc < 2)
                return usage_error("%s", "domain needs create, destroy or list");
        const char *verb = argv[1];
        int rc = parse_domid_opt(argc - 1, argv + 1, &domid);
        if (rc)
                return rc;
        if (strcmp(verb, "list") == 0) {
                snprintf(cmd, sizeof(cmd), "domain list");
        } else if (strcmp(verb, "create") == 0 || strcmp(verb, "destroy") == 0) {
                if (domid < 0)
                        return usage_error("domain %s needs --domid N", verb);
                snprintf(cmd, sizeof(cmd), "domain %s %ld", verb, domid);
        } else {
                return usage_error("unknown domain command '%s'", verb);
        }
        if (sim_ctl_call(dir, cmd, out, sizeof(out), err, sizeof(err)) < 0) {
                fprintf(stderr, "pvback-sim: %s\n", err);
                return 1;
        }
        fputs(out, stdout);
        return 0;
}

/* The domain must exist: a socket path for a domain that does not would only
 * fail later, far from the cause. */
static int domain_socket(const char *dir, long domid, char *path, size_t len)
{
        struct stat st;
        if (sim_path_dom(path, len, dir, (uint16_t)domid, SIM_XS_SOCK) < 0) {
                fprintf(stderr, "pvback-sim: state directory path too long\n");
                return 1;
        }
        if (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
                fprintf(stderr, "pvback-sim: domain %ld does not exist on the simulated host in "
                                "%s; create it with 'pvback-sim domain create --domid %ld'\n",
                        domid, dir, domid);
                return 1;
        }
        return 0;
}

static void print_quoted(const char *s)
{
        putchar('\'');
        for (; *s; s++) {
                if (*s == '\'')
                        fputs("'\\''", stdout);
                else
                        putchar(*s);
        }
        putchar('\'');
}

static int cmd_socket_or_env(const char *dir, int argc, char **argv, bool env)
{
        char path[PATH_MAX], absdir[PATH_MAX];
        long domid;
        int rc = parse_domid_opt(argc, argv, &domid);
        if (rc)
                return rc;
        if (domid < 0)
                return usage_error("%s needs --domid N", argv[0]);
        /* Exported paths must survive a later cd. */
        if (!realpath(dir, absdir)) {
                fprintf(stderr, "pvback-sim: %s: %s\n", dir, strerror(errno));
                return 1;
        }
        if ((rc = domain_socket(absdir, domid, path, sizeof(path))) != 0)
                return rc;
        if (!env) {
                printf("%s\n", path);
                return 0;
        }
        printf("export XENSTORED_PATH=");
        print_quoted(path);
        printf("\nexport %s=sim\nexport %s=", XH_ENV_PROVIDER, SIM_ENV_DIR);
        print_quoted(absdir);
        printf("\nexport %s=%ld\n", SIM_ENV_DOMID, domid);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc < 2)
                return usage_error("%s", "missing command");
        const char *cmd = argv[1];
        if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
                fputs(usage_text, stdout);
                return 0;
        }
        int sub_argc = argc - 1;
        char **sub_argv = argv + 1;
        const char *dir = take_dir_option(&sub_argc, sub_argv);

        if (strcmp(cmd, "start") == 0)
                return cmd_start(dir, sub_argc, sub_argv);
        if (strcmp(cmd, "stop") == 0)
                return cmd_stop(dir, sub_argc, sub_argv);
        if (strcmp(cmd, "domain") == 0)
                return cmd_domain(dir, sub_argc, sub_argv);
        if (strcmp(cmd, "socket") == 0)
                return cmd_socket_or_env(dir, sub_argc, sub_argv, false);
        if (strcmp(cmd, "env") == 0)
                return cmd_socket_or_env(dir, sub_argc, sub_argv, true);
        if (strcmp(cmd, "vif") == 0)
                return toolstack_vif_main(dir, sub_argc - 1, sub_argv + 1);
        if (strcmp(cmd, "vbd") == 0)
                return toolstack_vbd_main(dir, sub_argc - 1, sub_argv + 1);
        return usage_error("unknown command '%s'", cmd);
}

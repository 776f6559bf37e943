/* pvback-inspect: what pvbackd serves and how, read from its control socket
 * (common/ctl_proto.h), or from xenstore while it is down; runtime settings
 * through the same socket (`set`). Options, modes and exit codes here; the
 * socket, the text, the rates, the xenstore view and the schema check are
 * the other inspect_*.c files'. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_proto.h"
#include "inspect.h"
#include "pv_escape.h"
#include "xh.h"

#ifndef PVBACK_SCHEMA_DIR
#define PVBACK_SCHEMA_DIR "/usr/local/share/pvback/xenstore-schema"
#endif

#define INSPECT_TIMEOUT_MS 10000
#define WATCH_MIN_S        0.1
#define WATCH_MAX_S        3600.0

static const char usage_text[] =
    "Usage: pvback-inspect [--socket PATH] [--json] [--watch [SECONDS]] [DEVICE]\n"
    "       pvback-inspect [--socket PATH] [--json] set TARGET KEY=VALUE\n"
    "       pvback-inspect [--socket PATH] [--json] set TARGET KEY VALUE\n"
    "       pvback-inspect --validate [--schema-dir DIR] [--json]\n"
    "\n"
    "Shows what pvbackd serves: the daemon (version, hypervisor provider, domain,\n"
    "workers, uptime), its backend facility (per device class how it virtualizes,\n"
    "how many devices it may serve and serves, the vifs' uplinks with their tx\n"
    "offloads) and every device, or only DEVICE (vif5.0, vbd5.51712): its xenbus\n"
    "states, the error that disabled it if any, what the frontend negotiated and,\n"
    "per queue, ring occupancy, the traffic counters and which offload paths\n"
    "packets took (hw: left to the peer, sw: done by pvbackd), each coalescing\n"
    "level's mode and live values; per vif its QoS settings, group, allocated and\n"
    "achieved rates (bits/s: 500k, 100M, 1.5G) and early drops; and whatever\n"
    "sections the daemon adds (capabilities, ...). The counters are\n"
    "read while the data path moves them: each is exact, together they are no\n"
    "snapshot; ring occupancy is read from the ring indexes unlocked and may be a\n"
    "few slots stale.\n"
    "\n"
    "With pvbackd not running, shows what xenstore knows instead: every vif and\n"
    "vbd of this domain with its backend and frontend states, online,\n"
    "hotplug-status, the error node and the keys the frontend negotiated with\n"
    "(exit status 3).\n"
    "\n"
    "Modes and options:\n"
    "  --socket PATH     pvbackd's control socket (default: the one pvbackd picks by\n"
    "                    the same rule: " CTL_DEFAULT_PATH ", or on the simulator\n"
    "                    $PVBACK_SIM_DIR/pvbackd-dom<$PVBACK_SIM_DOMID>.sock)\n"
    "  --json            print pvbackd's answer as JSON (every counter, field names\n"
    "                    as in the sources) instead of the summary\n"
    "  --watch [SECONDS] redraw every SECONDS (default 1, 0.1..3600) until SIGINT or\n"
    "                    SIGTERM (then exit 0), with each queue's rates over the\n"
    "                    last interval: packets/s and MiB/s for a vif, requests/s\n"
    "                    and segments/s for a vbd; with --json one JSON object\n"
    "                    per line, the rates in each queue's \"rates\"\n"
    "  set TARGET KEY=VALUE\n"
    "                    change a runtime setting (QoS, coalescing, ...) of a device\n"
    "                    (vif5.0), a class (vif) or a shared resource\n"
    "                    (uplink:xenbr0); prints pvbackd's confirmation. Keys:\n"
    "                    qos.min, qos.max, qos.weight, qos.default; coalesce,\n"
    "                    coalesce.l2, .l2.poll-us, .l2.budget, coalesce.l3,\n"
    "                    .l3.frames, .l3.usecs, coalesce.l4; uplink: capacity\n"
    "  --validate        check the live xenstore tree of this domain's backends\n"
    "                    (backend/vif, backend/vbd, the error nodes and the frontend\n"
    "                    directories they name) against the xenstore schema;\n"
    "                    pvbackd need not run\n"
    "  --schema-dir DIR  the schema for --validate (default $PVBACK_SCHEMA_DIR, else\n"
    "                    " PVBACK_SCHEMA_DIR ")\n"
    "  -h, --help        this text\n"
    "\n"
    "The socket is root's (mode 0600): run as root.\n"
    "\n"
    "Exit status:\n"
    "  0  the answer was printed (set: applied; --validate: no findings)\n"
    "  1  pvbackd answered with an error (no such device or target, unknown key,\n"
    "     bad value, ...); printed on stderr (with --json, the error object also\n"
    "     on stdout); --validate: findings\n"
    "  2  bad usage (--validate: no schema or no xenstore)\n"
    "  3  pvbackd is not running at the socket, or we may not ask it; what\n"
    "     xenstore knows is printed instead when xenstore can be read\n"
    "  4  pvbackd did not answer in time, or not in its protocol\n";

enum mode { MODE_SHOW, MODE_WATCH, MODE_SET, MODE_VALIDATE };

struct options {
        enum mode mode;
        const char *socket;
        const char *device;
        const char *schema_dir;
        bool json;
        double interval_s;
        char request[CTL_REQ_MAX];
};

static int usage_error(const char *what, const char *arg)
{
        fprintf(stderr, "pvback-inspect: %s%s%s\nTry 'pvback-inspect --help'.\n", what,
                arg ? " " : "", arg ? arg : "");
        return INSPECT_USAGE;
}

/* A word of the request line: printable, no blanks, bounded. */
static bool valid_word(const char *s, size_t max)
{
        size_t len = strlen(s);
        if (!len || len > max)
                return false;
        for (; *s; s++)
                if (*s <= ' ' || *s >= 0x7f)
                        return false;
        return true;
}

/* "SECONDS" after --watch: a positive number, else not ours. */
static bool parse_seconds(const char *s, double *out)
{
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || end == s || *end || !(v >= 0))
                return false;
        *out = v;
        return true;
}

/* set TARGET KEY=VALUE | set TARGET KEY VALUE → "set TARGET KEY VALUE". */
static int parse_set(int argc, char **argv, struct options *o)
{
        char key[CTL_REQ_MAX];
        const char *value;
        if (argc < 2 || argc > 3)
                return usage_error("set takes TARGET KEY=VALUE or TARGET KEY VALUE", NULL);
        if (argc == 2) {
                const char *eq = strchr(argv[1], '=');
                if (!eq || eq == argv[1] || !eq[1])
                        return usage_error("set: expected KEY=VALUE, got", argv[1]);
                snprintf(key, sizeof(key), "%.*s", (int)(eq - argv[1]), argv[1]);
                value = eq + 1;
        } else {
                snprintf(key, sizeof(key), "%s", argv[1]);
                value = argv[2];
        }
        if (!valid_word(argv[0], 64))
                return usage_error("set: not a target name:", argv[0]);
        if (!valid_word(key, 64))
                return usage_error("set: not a key:", key);
        if (!valid_word(value, 128))
                return usage_error("set: a value is one word of printable characters:", value);
        int n = snprintf(o->request, sizeof(o->request), "set %s %s %s", argv[0], key, value);
        if (n < 0 || (size_t)n + 1 >= sizeof(o->request))
                return usage_error("set: the request is too long", NULL);
        o->mode = MODE_SET;
        return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
        static const struct option longopts[] = {{"socket", required_argument, NULL, 's'},
                                                 {"json", no_argument, NULL, 'j'},
                                                 {"watch", no_argument, NULL, 'w'},
                                                 {"validate", no_argument, NULL, 'v'},
                                                 {"schema-dir", required_argument, NULL, 'd'},
                                                 {"help", no_argument, NULL, 'h'},
                                                 {NULL, 0, NULL, 0}};
        bool watch = false, validate = false;
        int c;
        *o = (struct options){.mode = MODE_SHOW, .interval_s = 1.0};
        /* '+': options before the positional words, so set's VALUE may
         * start with '-'. */
        while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
                switch (c) {
                case 's':
                        o->socket = optarg;
                        break;
                case 'j':
                        o->json = true;
                        break;
                case 'w':
                        watch = true;
                        if (optind < argc && parse_seconds(argv[optind], &o->interval_s)) {
                                optind++;
                                if (o->interval_s < WATCH_MIN_S || o->interval_s > WATCH_MAX_S)
                                        return usage_error("--watch: seconds out of 0.1..3600:",
                                                           argv[optind - 1]);
                        }
                        break;
                case 'v':
                        validate = true;
                        break;
                case 'd':
                        o->schema_dir = optarg;
                        break;
                case 'h':
                        fputs(usage_text, stdout);
                        return -1;
                default:
                        return usage_error("bad option", NULL);
                }
        }
        if (optind < argc && !strcmp(argv[optind], "set")) {
                if (watch || validate)
                        return usage_error("set goes without --watch and --validate", NULL);
                return parse_set(argc - optind - 1, argv + optind + 1, o);
        }
        if (validate) {
                if (watch || optind < argc)
                        return usage_error("--validate takes no device and no --watch", NULL);
                o->mode = MODE_VALIDATE;
                return 0;
        }
        if (optind < argc) {
                o->device = argv[optind++];
                if (!valid_word(o->device, 64))
                        return usage_error("not a device name:", o->device);
        }
        if (optind < argc)
                return usage_error("unexpected argument", argv[optind]);
        snprintf(o->request, sizeof(o->request), "show%s%s", o->device ? " " : "",
                 o->device ? o->device : "");
        o->mode = watch ? MODE_WATCH : MODE_SHOW;
        return 0;
}

/* The path pvbackd takes without --control-socket: the same provider rule
 * (xh_provider_select), the same default (ctl_default_path). */
static int default_socket(char *buf, size_t len)
{
        const struct xh_provider *hv = NULL;
        char why[512];
        bool sim = xh_provider_select(NULL, &hv, why, sizeof(why)) == 0 &&
                   !strcmp(xh_provider_name(hv), "sim");
        return ctl_default_path(sim, buf, len);
}

static bool unreachable(int rc)
{
        return rc == -ENOENT || rc == -ECONNREFUSED || rc == -EACCES || rc == -EPERM ||
               rc == -ENOTSOCK || rc == -ENOTDIR;
}

static void report_unreachable(const char *path, int rc)
{
        switch (-rc) {
        case ENOENT:
                fprintf(stderr, "pvback-inspect: pvbackd is not running (no control socket %s)\n",
                        path);
                break;
        case ECONNREFUSED:
                fprintf(stderr,
                        "pvback-inspect: pvbackd is not running (nobody answers at %s, a socket "
                        "left by a daemon that died)\n",
                        path);
                break;
        case EACCES:
        case EPERM:
                fprintf(stderr, "pvback-inspect: not allowed to open %s: run as root\n", path);
                break;
        default:
                fprintf(stderr, "pvback-inspect: cannot reach pvbackd at %s: %s\n", path,
                        strerror(-rc));
                break;
        }
}

static void print_json(struct json_object *obj, bool one_line)
{
        int flags = one_line ? JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE
                             : JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                   JSON_C_TO_STRING_NOSLASHESCAPE;
        printf("%s\n", json_object_to_json_string_ext(obj, flags));
}

/* One request: INSPECT_OK with *obj the answer, INSPECT_DAEMON_ERROR with
 * *obj the error object, or the status of why there is none (told on
 * stderr, except when nobody is there: *ask_rc says why, for the caller). */
static int fetch(const char *path, const char *request, struct json_object **obj, int *ask_rc)
{
        char *answer = NULL;
        struct json_object *err = NULL;
        *obj = NULL;
        int rc = *ask_rc = inspect_ask(path, request, INSPECT_TIMEOUT_MS, &answer);
        if (unreachable(rc))
                return INSPECT_NOT_RUNNING;
        if (rc == -EINTR && inspect_interrupted)
                return INSPECT_BAD_ANSWER; /* told to stop: nothing to say */
        if (rc < 0) {
                fprintf(stderr, "pvback-inspect: no answer from pvbackd at %s: %s\n", path,
                        rc == -EPROTO ? "the connection ended before a whole answer"
                                      : strerror(-rc));
                return INSPECT_BAD_ANSWER;
        }
        *obj = json_tokener_parse(answer);
        free(answer);
        if (!*obj || !json_object_is_type(*obj, json_type_object) ||
            !inspect_answer_shape_ok(*obj)) {
                fprintf(stderr,
                        "pvback-inspect: %s answered something that is not %s; is it "
                        "pvbackd's control socket?\n",
                        path, *obj ? "pvbackd's protocol" : "a JSON object");
                json_object_put(*obj);
                *obj = NULL;
                return INSPECT_BAD_ANSWER;
        }
        return json_object_object_get_ex(*obj, "error", &err) ? INSPECT_DAEMON_ERROR : INSPECT_OK;
}

static void print_daemon_error(struct json_object *obj)
{
        struct json_object *err = NULL, *msg = NULL;
        json_object_object_get_ex(obj, "error", &err);
        json_object_object_get_ex(err, "message", &msg);
        fputs("pvback-inspect: pvbackd: ", stderr);
        pv_escape_fputs(msg ? json_object_get_string(msg) : "an error without a message", stderr);
        fputc('\n', stderr);
}

/* pvbackd is down: what xenstore knows, on stdout. */
static void show_from_xenstore(bool json, bool one_line)
{
        struct json_object *snap = NULL;
        char err[256];
        if (inspect_xs_snapshot(&snap, err, sizeof(err)) < 0) {
                fprintf(stderr, "pvback-inspect: %s\n", err);
                return;
        }
        if (json)
                print_json(snap, one_line);
        else
                inspect_print_xs(stdout, snap);
        json_object_put(snap);
}

static int flush_stdout(int status)
{
        if (fflush(stdout) != 0) {
                perror("pvback-inspect: stdout");
                return INSPECT_BAD_ANSWER;
        }
        return status;
}

static int run_show(const struct options *o, const char *path)
{
        struct json_object *obj;
        int why, status = fetch(path, o->request, &obj, &why);
        if (status == INSPECT_NOT_RUNNING) {
                report_unreachable(path, why);
                show_from_xenstore(o->json, false);
        } else if (obj) {
                if (o->json)
                        print_json(obj, false);
                if (status == INSPECT_DAEMON_ERROR)
                        print_daemon_error(obj);
                else if (!o->json)
                        inspect_print_show(stdout, obj);
        }
        json_object_put(obj);
        return flush_stdout(status);
}

static int run_set(const struct options *o, const char *path)
{
        struct json_object *obj;
        int why, status = fetch(path, o->request, &obj, &why);
        if (status == INSPECT_NOT_RUNNING)
                report_unreachable(path, why);
        if (obj && o->json)
                print_json(obj, false);
        if (status == INSPECT_DAEMON_ERROR) {
                print_daemon_error(obj);
        } else if (status == INSPECT_OK && !o->json) {
                struct json_object *t = NULL, *k = NULL, *v = NULL;
                json_object_object_get_ex(obj, "target", &t);
                json_object_object_get_ex(obj, "key", &k);
                json_object_object_get_ex(obj, "value", &v);
                pv_escape_fputs(t ? json_object_get_string(t) : "?", stdout);
                fputs(": ", stdout);
                pv_escape_fputs(k ? json_object_get_string(k) : "?", stdout);
                fputs(" set to ", stdout);
                pv_escape_fputs(v ? json_object_get_string(v) : "?", stdout);
                fputc('\n', stdout);
        }
        json_object_put(obj);
        return flush_stdout(status);
}

/* ---- --watch ------------------------------------------------------------- */

static volatile sig_atomic_t stop_watch;

static void on_stop_signal(int sig)
{
        (void)sig;
        stop_watch = 1;
        inspect_interrupted = 1;
}

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void watch_frame(const struct options *o, struct json_object *obj, double interval, bool tty)
{
        time_t t = time(NULL);
        char stamp[32];
        strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime(&t));
        if (o->json) {
                print_json(obj, true);
                return;
        }
        if (tty)
                fputs("\033[H\033[2J", stdout);
        if (interval > 0)
                printf("--- %s, every %g s; rates over the last %.2f s\n", stamp, o->interval_s,
                       interval);
        else
                printf("--- %s, every %g s; rates from the next refresh on\n", stamp,
                       o->interval_s);
        inspect_print_show(stdout, obj);
}

static int run_watch(const struct options *o, const char *path)
{
        struct sigaction sa = {.sa_handler = on_stop_signal};
        sigemptyset(&sa.sa_mask);
        /* No SA_RESTART: the sleep ends at once. */
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        bool tty = isatty(STDOUT_FILENO);
        struct json_object *prev = NULL;
        double prev_t = 0;

        while (!stop_watch) {
                struct json_object *obj;
                double t = now_s();
                int why, status = fetch(path, o->request, &obj, &why);
                if (status == INSPECT_OK) {
                        double dt = prev ? t - prev_t : 0;
                        inspect_add_rates(obj, prev, dt);
                        watch_frame(o, obj, dt, tty);
                        json_object_put(prev);
                        prev = obj;
                        prev_t = t;
                } else {
                        /* Keep watching through a restart of pvbackd. */
                        json_object_put(prev);
                        prev = NULL;
                        if (status == INSPECT_DAEMON_ERROR)
                                print_daemon_error(obj);
                        else if (status == INSPECT_NOT_RUNNING) {
                                if (!o->json)
                                        printf("--- pvbackd not running at %s\n", path);
                                show_from_xenstore(o->json, true);
                        }
                        json_object_put(obj);
                }
                if (fflush(stdout) != 0)
                        break;
                double left = o->interval_s - (now_s() - t);
                if (left > 0 && !stop_watch) {
                        struct timespec ts = {(time_t)left,
                                              (long)((left - (double)(time_t)left) * 1e9)};
                        nanosleep(&ts, NULL);
                }
        }
        json_object_put(prev);
        return flush_stdout(INSPECT_OK);
}

int main(int argc, char **argv)
{
        struct options o;
        char path[PATH_MAX];
        int rc = parse_options(argc, argv, &o);
        if (rc)
                return rc < 0 ? INSPECT_OK : rc;

        if (o.mode == MODE_VALIDATE) {
                const char *dir = o.schema_dir ? o.schema_dir : getenv("PVBACK_SCHEMA_DIR");
                rc = inspect_validate(dir && *dir ? dir : PVBACK_SCHEMA_DIR, o.json, stdout);
                return flush_stdout(rc);
        }
        if (o.socket) {
                snprintf(path, sizeof(path), "%s", o.socket);
        } else if ((rc = default_socket(path, sizeof(path))) < 0) {
                fprintf(stderr, "pvback-inspect: no default socket (%s); give --socket PATH\n",
                        strerror(-rc));
                return INSPECT_USAGE;
        }
        switch (o.mode) {
        case MODE_SET:
                return run_set(&o, path);
        case MODE_WATCH:
                return run_watch(&o, path);
        default:
                return run_show(&o, path);
        }
}

/* pvback-inspect: what pvbackd serves and how, read from its control socket
 * (common/ctl_proto.h). Options and exit codes here; the socket and the text
 * are inspect_client.c's and inspect_text.c's. Read-only. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"
#include "inspect.h"
#include "xh.h"

#define INSPECT_TIMEOUT_MS 10000

static const char usage_text[] =
    "Usage: pvback-inspect [--socket PATH] [--json] [DEVICE]\n"
    "\n"
    "Shows what pvbackd serves: the daemon (version, hypervisor provider, domain,\n"
    "workers, uptime) and every device, or only DEVICE (vif5.0, vbd5.51712): its\n"
    "xenbus states, the error that disabled it if any, what the frontend negotiated\n"
    "and, per queue, the traffic counters and which offload paths packets took\n"
    "(hw: left to the peer, sw: done by pvbackd). The counters are read while the\n"
    "data path moves them: each is exact, together they are no snapshot.\n"
    "\n"
    "Options:\n"
    "  --socket PATH   pvbackd's control socket (default: the one pvbackd picks by\n"
    "                  the same rule: " CTL_DEFAULT_PATH ", or on the simulator\n"
    "                  $PVBACK_SIM_DIR/pvbackd-dom<$PVBACK_SIM_DOMID>.sock)\n"
    "  --json          print pvbackd's answer as JSON (every counter, field names as\n"
    "                  in the sources) instead of the summary\n"
    "  -h, --help      this text\n"
    "\n"
    "The socket is root's (mode 0600): run as root.\n"
    "\n"
    "Exit status:\n"
    "  0  the answer was printed\n"
    "  1  pvbackd answered with an error (no such device, ...); printed on stderr\n"
    "     (with --json, the error object also on stdout)\n"
    "  2  bad usage\n"
    "  3  pvbackd is not running at the socket, or we may not ask it\n"
    "  4  pvbackd did not answer in time, or not in its protocol\n";

struct options {
        const char *socket;
        const char *device;
        bool json;
};

static int usage_error(const char *what, const char *arg)
{
        fprintf(stderr, "pvback-inspect: %s%s%s\nTry 'pvback-inspect --help'.\n", what,
                arg ? " " : "", arg ? arg : "");
        return INSPECT_USAGE;
}

/* A device name goes into the request line: printable, no blanks. */
static bool valid_device(const char *s)
{
        size_t len = strlen(s);
        if (!len || len > 64)
                return false;
        for (; *s; s++)
                if (*s <= ' ' || *s >= 0x7f)
                        return false;
        return true;
}

static int parse_options(int argc, char **argv, struct options *o)
{
        static const struct option longopts[] = {{"socket", required_argument, NULL, 's'},
                                                 {"json", no_argument, NULL, 'j'},
                                                 {"help", no_argument, NULL, 'h'},
                                                 {NULL, 0, NULL, 0}};
        int c;
        *o = (struct options){0};
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                switch (c) {
                case 's':
                        o->socket = optarg;
                        break;
                case 'j':
                        o->json = true;
                        break;
                case 'h':
                        fputs(usage_text, stdout);
                        return -1;
                default:
                        return usage_error("bad option", NULL);
                }
        }
        if (optind < argc) {
                o->device = argv[optind++];
                if (!valid_device(o->device))
                        return usage_error("not a device name:", o->device);
        }
        if (optind < argc)
                return usage_error("unexpected argument", argv[optind]);
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

static int report_unreachable(const char *path, int rc)
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
        return INSPECT_NOT_RUNNING;
}

int main(int argc, char **argv)
{
        struct options o;
        char path[PATH_MAX], request[128], *answer = NULL;
        int rc = parse_options(argc, argv, &o);
        if (rc)
                return rc < 0 ? INSPECT_OK : rc;

        if (o.socket) {
                snprintf(path, sizeof(path), "%s", o.socket);
        } else if ((rc = default_socket(path, sizeof(path))) < 0) {
                fprintf(stderr, "pvback-inspect: no default socket (%s); give --socket PATH\n",
                        strerror(-rc));
                return INSPECT_USAGE;
        }
        snprintf(request, sizeof(request), "show%s%s", o.device ? " " : "",
                 o.device ? o.device : "");

        rc = inspect_ask(path, request, INSPECT_TIMEOUT_MS, &answer);
        if (rc == -ENOENT || rc == -ECONNREFUSED || rc == -EACCES || rc == -EPERM ||
            rc == -ENOTSOCK || rc == -ENOTDIR)
                return report_unreachable(path, rc);
        if (rc < 0) {
                fprintf(stderr, "pvback-inspect: no answer from pvbackd at %s: %s\n", path,
                        rc == -EPROTO ? "the connection ended before a whole answer"
                                      : strerror(-rc));
                return INSPECT_BAD_ANSWER;
        }

        struct json_object *obj = json_tokener_parse(answer);
        if (!obj || !json_object_is_type(obj, json_type_object)) {
                fprintf(stderr,
                        "pvback-inspect: %s answered something that is not a JSON "
                        "object; is it pvbackd's control socket?\n",
                        path);
                json_object_put(obj);
                free(answer);
                return INSPECT_BAD_ANSWER;
        }
        struct json_object *err = NULL, *msg = NULL;
        bool failed = json_object_object_get_ex(obj, "error", &err);
        if (o.json)
                printf("%s\n", json_object_to_json_string_ext(
                                   obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                            JSON_C_TO_STRING_NOSLASHESCAPE));
        if (failed) {
                json_object_object_get_ex(err, "message", &msg);
                fprintf(stderr, "pvback-inspect: pvbackd: %s\n",
                        msg ? json_object_get_string(msg) : "an error without a message");
        } else if (!o.json) {
                inspect_print_show(stdout, obj);
        }
        json_object_put(obj);
        free(answer);
        if (fflush(stdout) != 0) {
                perror("pvback-inspect: stdout");
                return INSPECT_BAD_ANSWER;
        }
        return failed ? INSPECT_DAEMON_ERROR : INSPECT_OK;
}

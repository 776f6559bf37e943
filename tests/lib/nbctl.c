/* Implementation of nbctl.h. */
#include "nbctl.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_proto.h"
#include "proc.h"

#define NBCTL_TIMEOUT_MS 10000

int nbctl_ask_text(const char *sock, const char *line, char **answer, char *why, size_t whylen)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t cap = 1 << 16, len = 0;
        char req[CTL_REQ_MAX + 1];
        int n = snprintf(req, sizeof(req), "%s\n", line), rc = 0, fd;
        char *buf;

        if (n < 0 || (size_t)n >= sizeof(req) || strlen(sock) >= sizeof(sa.sun_path)) {
                snprintf(why, whylen, "request or socket path too long");
                return -ENAMETOOLONG;
        }
        memcpy(sa.sun_path, sock, strlen(sock) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
                rc = -errno;
                snprintf(why, whylen, "control socket %s: %s", sock, strerror(errno));
                if (fd >= 0)
                        close(fd);
                return rc;
        }
        buf = malloc(cap);
        for (uint64_t end = now_ms() + NBCTL_TIMEOUT_MS; buf;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int left = (int)(end - now_ms());
                if (left <= 0 || poll(&p, 1, left) <= 0) {
                        rc = -ETIMEDOUT;
                        break;
                }
                if (len + 1 == cap) {
                        char *more = realloc(buf, cap * 2);
                        if (!more) {
                                free(buf);
                                buf = NULL;
                                break;
                        }
                        buf = more;
                        cap *= 2;
                }
                ssize_t r = read(fd, buf + len, cap - 1 - len);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        rc = -errno;
                if (r <= 0)
                        break;
                len += (size_t)r;
        }
        close(fd);
        if (!buf || rc < 0) {
                rc = rc < 0 ? rc : -ENOMEM;
                snprintf(why, whylen, "no answer to '%s' on %s: %s", line, sock, strerror(-rc));
                free(buf);
                return rc;
        }
        buf[len] = '\0';
        *answer = buf;
        return 0;
}

int nbctl_ask(const char *sock, const char *line, struct json_object **answer, char *why,
              size_t whylen)
{
        char *text = NULL;
        int rc = nbctl_ask_text(sock, line, &text, why, whylen);
        if (rc < 0)
                return rc;
        *answer = json_tokener_parse(text);
        if (!*answer) {
                snprintf(why, whylen, "answer to '%s' is not JSON: %.200s", line, text);
                rc = -EPROTO;
        }
        free(text);
        return rc;
}

int nbctl_set(const char *sock, const char *target, const char *key, const char *value, char *code,
              size_t codelen, char *why, size_t whylen)
{
        struct json_object *a = NULL;
        char line[CTL_REQ_MAX];
        int rc;

        if (code && codelen)
                code[0] = '\0';
        snprintf(line, sizeof(line), "set %s %s %s", target, key, value);
        if ((rc = nbctl_ask(sock, line, &a, why, whylen)) < 0)
                return rc;
        if (nbctl_member(a, "ok")) {
                json_object_put(a);
                return 0;
        }
        if (code && codelen)
                snprintf(code, codelen, "%s", nbctl_str(a, "error.code"));
        snprintf(why, whylen, "'%s': %s", line, nbctl_str(a, "error.message"));
        json_object_put(a);
        return -EPROTO;
}

struct json_object *nbctl_member(struct json_object *obj, const char *path)
{
        char buf[160], *save = NULL;
        snprintf(buf, sizeof(buf), "%s", path);
        for (char *k = strtok_r(buf, ".", &save); k && obj; k = strtok_r(NULL, ".", &save)) {
                if (json_object_is_type(obj, json_type_array)) {
                        char *end;
                        unsigned long i = strtoul(k, &end, 10);
                        obj = *end ? NULL : json_object_array_get_idx(obj, i);
                } else if (!json_object_object_get_ex(obj, k, &obj)) {
                        obj = NULL;
                }
        }
        return obj;
}

const char *nbctl_str(struct json_object *obj, const char *path)
{
        struct json_object *v = nbctl_member(obj, path);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

uint64_t nbctl_u64(struct json_object *obj, const char *path)
{
        struct json_object *v = nbctl_member(obj, path);
        return v && json_object_is_type(v, json_type_int) ? json_object_get_uint64(v) : UINT64_MAX;
}

struct json_object *nbctl_device(struct json_object *answer)
{
        return nbctl_member(answer, "devices.0");
}

/* Implementation of xb.h. Every value read from xenstore is parsed strictly:
 * a frontend may have written anything there. */
#include "xb.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libxl retries without bound; a bound turns a livelock into an error. */
#define XB_TXN_RETRIES 1000

int xb_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
        uint64_t v = 0;
        if (!s || !*s)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                unsigned d = (unsigned)(*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        /* "007" is not how any writer formats a number: refuse it. */
        if (s[0] == '0' && s[1])
                return -EINVAL;
        if (v > max)
                return -ERANGE;
        *out = v;
        return 0;
}

int xb_parse_bool(const char *s, bool *out)
{
        if (s && s[0] == '0' && !s[1]) {
                *out = false;
                return 0;
        }
        if (s && s[0] == '1' && !s[1]) {
                *out = true;
                return 0;
        }
        return -EINVAL;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int xb_parse_mac(const char *s, uint8_t mac[6])
{
        if (!s || strlen(s) != 17)
                return -EINVAL;
        for (int i = 0; i < 6; i++) {
                int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);
                if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
                        return -EINVAL;
                mac[i] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
}

const char *xb_state_name(int state)
{
        static const char *const names[] = {
                [XenbusStateUnknown] = "Unknown",           [XenbusStateInitialising] = "Initialising",
                [XenbusStateInitWait] = "InitWait",         [XenbusStateInitialised] = "Initialised",
                [XenbusStateConnected] = "Connected",       [XenbusStateClosing] = "Closing",
                [XenbusStateClosed] = "Closed",             [XenbusStateReconfiguring] = "Reconfiguring",
                [XenbusStateReconfigured] = "Reconfigured",
        };
        if (state >= 0 && (size_t)state < sizeof(names) / sizeof(names[0]) && names[state])
                return names[state];
        return "Unknown(out of range)";
}

int xb_path(char *buf, size_t len, const char *dir, const char *key)
{
        int n = key ? snprintf(buf, len, "%s/%s", dir, key) : snprintf(buf, len, "%s", dir);
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int xs_err(void)
{
        return errno ? -errno : -EIO;
}

int xb_read_str(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
                char **out)
{
        char path[XENSTORE_ABS_PATH_MAX + 1];
        unsigned int len;
        int rc = xb_path(path, sizeof(path), dir, key);
        if (rc < 0)
                return rc;
        char *v = xs_read(xs, t, path, &len);
        if (!v)
                return xs_err();
        /* A value with an embedded NUL is not a string any writer meant. */
        if (strlen(v) != len) {
                free(v);
                return -EINVAL;
        }
        *out = v;
        return 0;
}

int xb_read_uint(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
                 uint64_t max, uint64_t *out)
{
        char *v;
        int rc = xb_read_str(xs, t, dir, key, &v);
        if (rc < 0)
                return rc;
        rc = xb_parse_uint(v, max, out);
        free(v);
        return rc;
}

int xb_read_uint_default(struct xs_handle *xs, xs_transaction_t t, const char *dir,
                         const char *key, uint64_t max, uint64_t def, uint64_t *out)
{
        int rc = xb_read_uint(xs, t, dir, key, max, out);
        if (rc == -ENOENT) {
                *out = def;
                return 0;
        }
        return rc;
}

int xb_read_bool_default(struct xs_handle *xs, xs_transaction_t t, const char *dir,
                         const char *key, bool def, bool *out)
{
        char *v;
        int rc = xb_read_str(xs, t, dir, key, &v);
        if (rc == -ENOENT) {
                *out = def;
                return 0;
        }
        if (rc < 0)
                return rc;
        rc = xb_parse_bool(v, out);
        free(v);
        return rc;
}

int xb_read_state(struct xs_handle *xs, const char *dir)
{
        uint64_t v;
        if (xb_read_uint(xs, XBT_NULL, dir, "state", XenbusStateReconfigured, &v) < 0)
                return XenbusStateUnknown;
        return (int)v;
}

int xb_printf(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
              const char *fmt, ...)
{
        char path[XENSTORE_ABS_PATH_MAX + 1], val[XENSTORE_PAYLOAD_MAX];
        va_list ap;
        int rc = xb_path(path, sizeof(path), dir, key);
        if (rc < 0)
                return rc;
        va_start(ap, fmt);
        int n = vsnprintf(val, sizeof(val), fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= sizeof(val))
                return -E2BIG;
        return xs_write(xs, t, path, val, (unsigned)n) ? 0 : xs_err();
}

int xb_rm(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key)
{
        char path[XENSTORE_ABS_PATH_MAX + 1];
        int rc = xb_path(path, sizeof(path), dir, key);
        if (rc < 0)
                return rc;
        if (xs_rm(xs, t, path) || errno == ENOENT)
                return 0;
        return xs_err();
}

bool xb_exists(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key)
{
        char *v;
        if (xb_read_str(xs, t, dir, key, &v) < 0)
                return false;
        free(v);
        return true;
}

int xb_transact(struct xs_handle *xs, int (*fn)(struct xs_handle *xs, xs_transaction_t t, void *arg),
                void *arg)
{
        for (int i = 0; i < XB_TXN_RETRIES; i++) {
                xs_transaction_t t = xs_transaction_start(xs);
                if (t == XBT_NULL)
                        return xs_err();
                int rc = fn(xs, t, arg);
                if (rc < 0) {
                        xs_transaction_end(xs, t, true);
                        return rc;
                }
                if (xs_transaction_end(xs, t, false))
                        return 0;
                if (errno != EAGAIN)
                        return xs_err();
        }
        return -EAGAIN;
}

/* Xenstore helpers shared by pvbackd, the frontends and the tools: typed reads
 * that never trust the value's form, formatted writes, transactions retried on
 * EAGAIN, xenbus state names. Pure parsers are separate so tests need no store. */
#ifndef PVBACK_XB_H
#define PVBACK_XB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenstore.h>
#include <xen/io/xenbus.h>

/* ---- pure parsers -------------------------------------------------------- */

/* Strict decimal: no sign, no spaces, no trailing text, value ≤ max.
 * Returns 0, -EINVAL (malformed) or -ERANGE (above max). */
int xb_parse_uint(const char *s, uint64_t max, uint64_t *out);
/* "0" or "1" only (what every netif/blkif boolean key holds). */
int xb_parse_bool(const char *s, bool *out);
/* "00:16:3e:01:02:03" (hex pairs, ':' separated). */
int xb_parse_mac(const char *s, uint8_t mac[6]);
/* enum xenbus_state name for logs ("InitWait"), or "Unknown(n)". */
const char *xb_state_name(int state);

/* ---- reads and writes ---------------------------------------------------- */

/* "<dir>/<key>" into buf (key may be NULL for dir itself). -ENAMETOOLONG. */
int xb_path(char *buf, size_t len, const char *dir, const char *key);
/* Malloc'd value (NUL-terminated). -ENOENT when absent, -errno otherwise. */
int xb_read_str(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
                char **out);
int xb_read_uint(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
                 uint64_t max, uint64_t *out);
/* Absent → def; present but malformed → -EINVAL (a frontend that writes
 * garbage is told so rather than silently defaulted). */
int xb_read_uint_default(struct xs_handle *xs, xs_transaction_t t, const char *dir,
                         const char *key, uint64_t max, uint64_t def, uint64_t *out);
int xb_read_bool_default(struct xs_handle *xs, xs_transaction_t t, const char *dir,
                         const char *key, bool def, bool *out);
/* The "state" key; absent or malformed reads as XenbusStateUnknown (as
 * xenbus_read_driver_state does). */
int xb_read_state(struct xs_handle *xs, const char *dir);
int xb_printf(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Removes dir/key; absent is not an error. */
int xb_rm(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key);
bool xb_exists(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key);

/* Runs fn inside a transaction, retrying while the commit says EAGAIN (up
 * to a bound); fn's negative return aborts the transaction and is returned. */
int xb_transact(struct xs_handle *xs, int (*fn)(struct xs_handle *xs, xs_transaction_t t, void *arg),
                void *arg);

#endif

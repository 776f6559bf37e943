/* pvbackd's control socket for tests and benchmarks that change settings:
 * one request line, the whole JSON answer, and a few readers of it. */
#ifndef PVBACK_TEST_NBCTL_H
#define PVBACK_TEST_NBCTL_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/* Sends @line on @sock and returns the whole answer text (malloc'd,
 * NUL-ended; pvbackd closes after it). 0, or -errno with @why filled. */
int nbctl_ask_text(const char *sock, const char *line, char **answer, char *why, size_t whylen);
/* Sends @line on @sock and returns the parsed answer (json_object_put it).
 * 0, or -errno with @why filled. */
int nbctl_ask(const char *sock, const char *line, struct json_object **answer, char *why,
              size_t whylen);
/* `set TARGET KEY VALUE`: 0 when pvbackd answered ok; otherwise -EPROTO
 * with @code (CTL_ERR_*, "" if none) and @why filled. */
int nbctl_set(const char *sock, const char *target, const char *key, const char *value, char *code,
              size_t codelen, char *why, size_t whylen);
/* "a.b.c" under @obj ("queues" arrays are indexed "queues.0"), or NULL. */
struct json_object *nbctl_member(struct json_object *obj, const char *path);
/* The same as a string ("" if absent) or a number (UINT64_MAX if absent). */
const char *nbctl_str(struct json_object *obj, const char *path);
uint64_t nbctl_u64(struct json_object *obj, const char *path);
/* `show DEV`'s device object within @answer, or NULL. */
struct json_object *nbctl_device(struct json_object *answer);

#endif

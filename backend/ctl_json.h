/* Adding members to the control socket's json-c objects with one error
 * convention (0 or -ENOMEM, chainable with `rc = rc ?: ...`), for the
 * device classes' dump hooks and the control socket itself. Not a JSON
 * library: json-c does the work. */
#ifndef PVBACK_CTL_JSON_H
#define PVBACK_CTL_JSON_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

/* Takes ownership of val, also on failure; a NULL val is an allocation that
 * failed. */
static inline int ctl_json_add(struct json_object *obj, const char *key, struct json_object *val)
{
        if (!val)
                return -ENOMEM;
        if (json_object_object_add(obj, key, val) < 0) {
                json_object_put(val);
                return -ENOMEM;
        }
        return 0;
}

static inline int ctl_json_u64(struct json_object *obj, const char *key, uint64_t v)
{
        return ctl_json_add(obj, key, json_object_new_uint64(v));
}

static inline int ctl_json_int(struct json_object *obj, const char *key, int64_t v)
{
        return ctl_json_add(obj, key, json_object_new_int64(v));
}

static inline int ctl_json_bool(struct json_object *obj, const char *key, bool v)
{
        return ctl_json_add(obj, key, json_object_new_boolean(v));
}

/* A NULL string is JSON null. */
static inline int ctl_json_str(struct json_object *obj, const char *key, const char *s)
{
        if (!s)
                return json_object_object_add(obj, key, NULL) < 0 ? -ENOMEM : 0;
        return ctl_json_add(obj, key, json_object_new_string(s));
}

static inline int ctl_json_null(struct json_object *obj, const char *key)
{
        return json_object_object_add(obj, key, NULL) < 0 ? -ENOMEM : 0;
}

/* A new object added under key; NULL (nothing added) without memory. */
static inline struct json_object *ctl_json_child(struct json_object *obj, const char *key)
{
        struct json_object *child = json_object_new_object();
        return ctl_json_add(obj, key, child) == 0 ? child : NULL;
}

/* A new object appended to an array; NULL without memory. */
static inline struct json_object *ctl_json_append(struct json_object *arr)
{
        struct json_object *child = json_object_new_object();
        if (!child)
                return NULL;
        if (json_object_array_add(arr, child) < 0) {
                json_object_put(child);
                return NULL;
        }
        return child;
}

#endif

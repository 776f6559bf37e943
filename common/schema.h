/* The xenstore schema (the xenstore-schema/ files, format in its README.md):
 * parsing the line-oriented files and validating a list of xenstore nodes
 * against them. Validation is pure; the nodes come from a saved listing
 * (schema_parse_ls) or a live store (schema_read_xs, the only xenstore access). */
#ifndef PVBACK_SCHEMA_H
#define PVBACK_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenstore.h>

/* Who writes a key: a bit set, so "toolstack,backend" is expressible. */
enum schema_writer {
        SCHEMA_W_TOOLSTACK = 1u << 0,
        SCHEMA_W_BACKEND = 1u << 1,
        SCHEMA_W_FRONTEND = 1u << 2,
        SCHEMA_W_HOTPLUG = 1u << 3,
};

enum schema_type {
        SCHEMA_T_STRING,
        SCHEMA_T_UINT,
        SCHEMA_T_BOOL,
        SCHEMA_T_ENUM,
        SCHEMA_T_MAC,
        SCHEMA_T_PATH,   /* xenstore path */
        SCHEMA_T_FSPATH, /* absolute file-system path */
        SCHEMA_T_STATE,  /* XenbusState 0..7 */
        SCHEMA_T_DOMID,
        SCHEMA_T_RATE,   /* "<bytes>,<usecs>" (netback credit) */
        SCHEMA_T_MAJMIN, /* "<hex major>:<hex minor>" (block script) */
        SCHEMA_T_GREF,
        SCHEMA_T_PORT,
};

/* A device directory ("dir" line). Keys under a known directory that no "key"
 * line describes are reported as unknown. */
struct schema_dir {
        char *name;    /* e.g. "VIF_BE" */
        char *pattern; /* full, with {placeholders} */
        char *perms;   /* "n{bdom},r{fdom}" or NULL (not checked) */
        char *meaning;
        char *where; /* "vif.schema:12" */
};

struct schema_key {
        size_t dir;       /* index into schema_dirs */
        char *pattern;    /* full path pattern */
        char *rel;        /* part below the directory, e.g. "mac" */
        unsigned writers; /* enum schema_writer bits */
        enum schema_type type;
        char *values; /* NULL = any value of the type */
        char *def;    /* NULL = no default */
        bool required;
        unsigned req_state;     /* required only once the device state >= this (0 = always) */
        unsigned req_state_max; /* ... and while it is <= this (req_state set) */
        char *perms;            /* NULL = not checked */
        char *meaning;
        char *where;
};

struct schema;

/* One xenstore node to validate. perms is the xenstore-ls notation ("n0,r1");
 * NULL skips the permission check for that node. */
struct schema_node {
        const char *path;
        const char *value;
        const char *perms;
};

struct schema_finding {
        char *path;
        char *msg;
};

struct schema_findings {
        struct schema_finding *v;
        size_t n, cap;
};

int schema_new(struct schema **out);
void schema_free(struct schema *s);
/* Parses one file's text. `name` is used in messages ("vif.schema:12: ...").
 * On a malformed line returns -EINVAL and writes "name:line: reason" to err;
 * nothing of that text is kept then. */
int schema_load_text(struct schema *s, const char *name, const char *text, char *err,
                     size_t errlen);
int schema_load_file(struct schema *s, const char *path, char *err, size_t errlen);
/* Loads every *.schema file of dir in name order. -ENOENT if there is none. */
int schema_load_dir(struct schema *s, const char *dir, char *err, size_t errlen);

size_t schema_dir_count(const struct schema *s);
const struct schema_dir *schema_dir_at(const struct schema *s, size_t i);
size_t schema_key_count(const struct schema *s);
const struct schema_key *schema_key_at(const struct schema *s, size_t i);
/* The key entry a concrete path matches, or NULL. */
const struct schema_key *schema_find_key(const struct schema *s, const char *path);

/* Checks nodes against the schema and appends one finding per problem:
 * unknown keys under a known directory, type/range/enum violations,
 * permission mismatches, missing required keys. Returns 0 (findings may be
 * empty) or -ENOMEM. */
int schema_validate(const struct schema *s, const struct schema_node *nodes, size_t n,
                    struct schema_findings *out);
void schema_findings_free(struct schema_findings *f);

/* Parses `xenstore-ls -fp` output in place (lines "/path = "value"   (n0,r1)";
 * lines not starting with '/' are skipped). *nodes points into text; free
 * *nodes, then text. -EINVAL with *bad_line set for a malformed line. */
int schema_parse_ls(char *text, struct schema_node **nodes, size_t *n, unsigned *bad_line);

/* Reads the subtrees at paths from a live store (one transaction: a
 * consistent snapshot), values and permissions included. Absent paths are
 * skipped. Free with schema_nodes_free(). */
int schema_read_xs(struct xs_handle *xs, const char *const *paths, size_t npaths,
                   struct schema_node **nodes, size_t *n);
/* The same, but a node we may not read (EACCES: a frontend's directory
 * whose permissions leave us out) adds a finding "unreadable" to
 * @unreadable and its subtree is skipped, instead of failing the read. */
int schema_read_xs_partial(struct xs_handle *xs, const char *const *paths, size_t npaths,
                           struct schema_node **nodes, size_t *n,
                           struct schema_findings *unreadable);
void schema_nodes_free(struct schema_node *nodes, size_t n);

#endif

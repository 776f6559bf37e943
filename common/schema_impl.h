/* Internals shared by schema.c (parser) and schema_validate.c (matcher and
 * checks). Not for users of the schema: they include schema.h only. */
#ifndef PVBACK_SCHEMA_IMPL_H
#define PVBACK_SCHEMA_IMPL_H

#include "schema.h"

struct schema {
        struct schema_dir *dirs;
        size_t ndirs, capdirs;
        struct schema_key *keys;
        size_t nkeys, capkeys;
};

/* Placeholder bindings collected while matching a path against a pattern. */
#define SCHEMA_MAX_BINDS 8
#define SCHEMA_NAME_MAX  16
struct schema_binds {
        size_t n;
        struct {
                char name[SCHEMA_NAME_MAX];
                unsigned long long val;
        } b[SCHEMA_MAX_BINDS];
};

/* Checks a pattern's syntax: balanced {name} with a short identifier, at most
 * SCHEMA_MAX_BINDS placeholders, a placeholder never directly after another. */
int schema_pattern_check(const char *pat);
/* Matches a concrete path; placeholders match one or more decimal digits and a
 * name used twice must bind the same number. */
bool schema_pattern_match(const char *pat, const char *path, struct schema_binds *b);
/* Replaces placeholders with their bindings. -ENOENT if one is unbound,
 * -ENAMETOOLONG if out is too small. */
int schema_pattern_subst(const char *pat, const struct schema_binds *b, char *out, size_t len);
/* Whether value equals pat with the bound placeholders filled in; unbound ones
 * (a frontend path knows no {bdom}) match any number, consistently. */
bool schema_pattern_equals(const char *pat, const struct schema_binds *b, const char *value);

/* Whether a key's VALUES field is well-formed for its type (parse time). */
int schema_values_check(const struct schema_key *k, char *msg, size_t len);
/* One value against a key: its type, then VALUES. Placeholders resolve with b;
 * b NULL skips what needs them (a default checked at parse time). Returns 0 or
 * -EINVAL with the reason in msg. */
int schema_value_check(const struct schema_key *k, const char *value, const struct schema_binds *b,
                       char *msg, size_t len);

/* Appends a finding (path and message copied). 0 or -ENOMEM. */
int schema_finding_add(struct schema_findings *f, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

/* Reads `xenstore-ls -fp` output (the form of the reference dumps) into
 * schema nodes, so a saved tree validates like a live one. */
#include "schema.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One line: /path = "value"   (n0,r1). The value runs to the last quote
 * before the permissions, so quotes inside it survive. */
static int parse_line(char *line, struct schema_node *node)
{
        char *eq = strstr(line, " = \"");
        if (!eq)
                return -EINVAL;
        *eq = '\0';
        char *val = eq + 4;
        char *open = strrchr(val, '(');
        char *perms = NULL;
        if (open && strchr(open, ')')) {
                *strchr(open, ')') = '\0';
                perms = open + 1;
                *open = '\0';
        }
        char *q = strrchr(val, '"');
        if (!q)
                return -EINVAL;
        *q = '\0';
        node->path = line;
        node->value = val;
        node->perms = perms;
        return 0;
}

int schema_parse_ls(char *text, struct schema_node **nodes, size_t *n, unsigned *bad_line)
{
        size_t cap = 64, count = 0;
        struct schema_node *v = malloc(cap * sizeof(*v));
        unsigned lineno = 0;
        if (!v)
                return -ENOMEM;
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                lineno++;
                /* Headers and comments in saved dumps ("== PHASE A", "-- frontends:"). */
                if (line[0] != '/')
                        continue;
                if (count == cap) {
                        struct schema_node *nv = realloc(v, cap * 2 * sizeof(*v));
                        if (!nv) {
                                free(v);
                                return -ENOMEM;
                        }
                        v = nv;
                        cap *= 2;
                }
                if (parse_line(line, &v[count]) < 0) {
                        if (bad_line)
                                *bad_line = lineno;
                        free(v);
                        return -EINVAL;
                }
                count++;
        }
        *nodes = v;
        *n = count;
        return 0;
}

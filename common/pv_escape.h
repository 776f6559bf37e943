/* Text a guest (or anything else untrusted) wrote, made safe for a log
 * line or an operator's terminal: every byte outside printable ASCII
 * (0x20..0x7e) becomes \xNN, so no control or escape sequence gets through.
 * Not for JSON: json-c escapes its own strings. Header-only, so that
 * pvback-inspect's renderer links without the rest of common/. */
#ifndef PVBACK_PV_ESCAPE_H
#define PVBACK_PV_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define PV_ESCAPE_SEQ 4 /* "\xNN" */

static inline bool pv_escape_printable(unsigned char c)
{
        return c >= 0x20 && c <= 0x7e;
}

static inline void pv_escape_hex(unsigned char c, char seq[PV_ESCAPE_SEQ])
{
        static const char hex[] = "0123456789abcdef";
        seq[0] = '\\';
        seq[1] = 'x';
        seq[2] = hex[c >> 4];
        seq[3] = hex[c & 0xf];
}

/* True when s has nothing to escape. */
static inline bool pv_escape_clean(const char *s)
{
        for (; *s; s++)
                if (!pv_escape_printable((unsigned char)*s))
                        return false;
        return true;
}

/* s escaped into out (NUL-terminated; cut before a character or escape
 * that does not fit). Returns the length written. */
static inline size_t pv_escape(const char *s, char *out, size_t len)
{
        size_t n = 0;
        if (!len)
                return 0;
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (pv_escape_printable(c)) {
                        if (n + 1 >= len)
                                break;
                        out[n++] = (char)c;
                        continue;
                }
                if (n + PV_ESCAPE_SEQ >= len)
                        break;
                pv_escape_hex(c, out + n);
                n += PV_ESCAPE_SEQ;
        }
        out[n] = '\0';
        return n;
}

/* s escaped onto f, whatever its length. */
static inline void pv_escape_fputs(const char *s, FILE *f)
{
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                char seq[PV_ESCAPE_SEQ];
                if (pv_escape_printable(c)) {
                        fputc(c, f);
                        continue;
                }
                pv_escape_hex(c, seq);
                fwrite(seq, 1, sizeof(seq), f);
        }
}

#endif

/*
 * json_guard.c - JSON texts cJSON would misread (contract in json_guard.h).
 */
#include "json_guard.h"

#include <string.h>

static bool hex_digit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool json_text_has_nul(const char *p, size_t n)
{
    /* "\u0000" anywhere, even after an escaped backslash: the reading
     * that refuses */
    if (memchr(p, '\0', n) || memmem(p, n, "\\u0000", 6))
        return true;
    /* the other escapes, in order (a backslash is valid only inside a
     * string, so no string tracking is needed) */
    const char *end = p + n;
    for (const char *q = p; (q = memchr(q, '\\', (size_t)(end - q))) != NULL;) {
        if (end - q < 2)
            return false; /* a lone backslash at the end: not JSON */
        if (q[1] != 'u') {
            q += 2;
            continue;
        }
        if (end - q < 6)
            return true;
        for (int i = 2; i < 6; i++)
            if (!hex_digit(q[i]))
                return true; /* cJSON reads "\uZZZZ" as U+0000 */
        q += 6;
    }
    return false;
}

bool json_text_has_trailer(const char *p, size_t n, const char *end)
{
    for (const char *q = end ? end : p + n; q < p + n; q++)
        if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r')
            return true;
    return false;
}

bool json_object_has_dup(const cJSON *obj)
{
    for (const cJSON *a = obj->child; a; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next)
            if (a->string && b->string && strcmp(a->string, b->string) == 0)
                return true;
    return false;
}

/*
 * json_guard.c - JSON texts cJSON would misread (contract in json_guard.h).
 */
#include "json_guard.h"

#include <string.h>

bool json_text_has_nul(const char *p, size_t n)
{
    return memchr(p, '\0', n) || memmem(p, n, "\\u0000", 6);
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

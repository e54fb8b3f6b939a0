/*
 * json_guard.h - JSON texts that cJSON would read otherwise than other
 * readers (or their writer) do, refused before their content is trusted:
 * a POST policy (postpolicy.c), a web identity token's header and claims
 * (config/jwt.c).
 */
#ifndef S3W_POLICY_JSON_GUARD_H
#define S3W_POLICY_JSON_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* A NUL in the text, raw or escaped: cJSON's strings are C strings, so
 * "home/alice\u0000" would read as "home/alice". The escape is looked for
 * anywhere, so a text that spells the six characters out after an escaped
 * backslash is refused too (the reading that refuses). cJSON also reads a
 * \u escape without four hex digits ("\uZZZZ") as U+0000: refused too
 * (probe 28). */
bool json_text_has_nul(const char *p, size_t n);

/* Anything but JSON whitespace from end (where cJSON stopped parsing; NULL:
 * nothing) to p + n: a second document after the first. */
bool json_text_has_trailer(const char *p, size_t n, const char *end);

/* A member name twice in obj: cJSON finds the first, most JSON readers
 * keep the last. */
bool json_object_has_dup(const cJSON *obj);

#endif

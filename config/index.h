/*
 * index.h - private to config/: access-key lookup in the snapshot's hash
 * table (the public lookups are in config.h).
 */
#ifndef S3W_CONFIG_INDEX_H
#define S3W_CONFIG_INDEX_H

#include "config.h"

enum { CONFIG_KEY_USER = 1, CONFIG_KEY_ROLE_SESSION = 2, CONFIG_KEY_ROOT = 3 };

/* O(1), no allocation. Returns the key (NULL if unknown) and sets *kind and
 * *owner (a struct config_user, config_role_session or config_account). */
const struct config_access_key *config_index_find_key(const struct config *cfg,
                                                     struct s3w_slice id, int *kind,
                                                     const void **owner);

#endif

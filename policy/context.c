#include "context.h"

void policy_context_init(struct policy_context *ctx)
{
    ctx->n = 0;
}

static struct policy_ctx_entry *find(struct policy_context *ctx, struct s3w_slice key)
{
    for (size_t i = 0; i < ctx->n; i++)
        if (s3w_slice_eq_nocase(ctx->entries[i].key, key))
            return &ctx->entries[i];
    return NULL;
}

static struct policy_ctx_entry *slot(struct policy_context *ctx, struct s3w_slice key)
{
    struct policy_ctx_entry *e = find(ctx, key);
    if (e)
        return e;
    if (ctx->n == POLICY_CTX_MAX_KEYS)
        return NULL;
    e = &ctx->entries[ctx->n++];
    e->key = key;
    return e;
}

int policy_context_set(struct policy_context *ctx, struct s3w_slice key,
                       struct s3w_slice value)
{
    struct policy_ctx_entry *e = slot(ctx, key);
    if (!e)
        return POLICY_CTX_E_FULL;
    e->one = value;
    e->values = &e->one;
    e->nvalues = 1;
    e->multi = false;
    e->unsure = false;
    return POLICY_CTX_OK;
}

int policy_context_set_multi(struct policy_context *ctx, struct s3w_slice key,
                             const struct s3w_slice *values, size_t n)
{
    struct policy_ctx_entry *e = slot(ctx, key);
    if (!e)
        return POLICY_CTX_E_FULL;
    e->one = S3W_SLICE_NULL;
    e->values = values;
    e->nvalues = n;
    e->multi = true;
    e->unsure = false;
    return POLICY_CTX_OK;
}

void policy_context_mark_unsure(struct policy_context *ctx, struct s3w_slice key)
{
    struct policy_ctx_entry *e = find(ctx, key);
    if (e)
        e->unsure = true;
}

void policy_context_unset(struct policy_context *ctx, struct s3w_slice key)
{
    struct policy_ctx_entry *e = find(ctx, key);
    if (!e)
        return;
    size_t i = (size_t)(e - ctx->entries);
    ctx->entries[i] = ctx->entries[--ctx->n];
    /* the moved entry's single value must point at its own storage */
    if (i < ctx->n && !ctx->entries[i].multi)
        ctx->entries[i].values = &ctx->entries[i].one;
}

const struct policy_ctx_entry *policy_context_get(const struct policy_context *ctx,
                                                  struct s3w_slice key)
{
    return find((struct policy_context *)ctx, key);
}

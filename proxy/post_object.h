/*
 * post_object.h - S3's POST Object (browser uploads with a signed POST
 * policy), taken over by s3warden: the form is read streaming
 * (base/multipart.h), the policy's SigV4 signature verified with the key
 * x-amz-credential names, the policy enforced (policy/postpolicy.h), the
 * caller authorized as for PutObject (audited as PostObject), and the file
 * sent upstream as an ordinary PutObject signed with the proxy's own
 * credentials. The browser gets S3's answer: 204, 200, 201 with
 * <PostResponse>, or 303 to success_action_redirect.
 */
#ifndef S3W_PROXY_POST_OBJECT_H
#define S3W_PROXY_POST_OBJECT_H

#include <stdbool.h>
#include <stddef.h>

struct px;
struct px_post;

/* After routing: POST /bucket without a query is S3's POST Object; taken
 * over here (true: the exchange goes on in this file). */
bool px_post_object(struct px *px);

/* The request body's bytes and end (body.c hands them over while
 * px->post.po is set); return as pl_on_body / pl_on_body_end. */
int px_post_body(struct px *px, const char *p, size_t n);
void px_post_body_end(struct px *px);

void px_post_free(struct px_post *po);

#endif

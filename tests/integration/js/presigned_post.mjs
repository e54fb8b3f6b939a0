// POST Object through s3warden with the JavaScript SDK v3's presigned POST
// (@aws-sdk/s3-presigned-post), the form sent with Node's own fetch and
// FormData, the file last. Used by tests/integration/test_post_cors.py.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";

const env = process.env;
const client = new S3Client({ endpoint: env.S3W_ENDPOINT, region: env.AWS_REGION, forcePathStyle: true });
const { url, fields } = await createPresignedPost(client, {
  Bucket: env.S3W_BUCKET,
  Key: env.S3W_KEY,
  Conditions: [["content-length-range", 1, 10 * 1024 * 1024]],
  Expires: 600,
});
const form = new FormData();
for (const [k, v] of Object.entries(fields)) form.append(k, v);
form.append("file", new Blob([readFileSync(env.S3W_FILE)]), basename(env.S3W_FILE));
const res = await fetch(url, { method: "POST", body: form });
console.log(`status ${res.status}`);
if (res.status !== 204) {
  console.log(await res.text());
  process.exit(1);
}

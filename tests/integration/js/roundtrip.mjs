// PutObject, HeadObject, GetObject and ListObjectsV2 with @aws-sdk/client-s3
// (the JavaScript SDK v3, its default checksums) through s3warden.
// Env: S3W_ENDPOINT S3W_BUCKET S3W_KEY S3W_BODY and the usual AWS_* keys.
import { S3Client, PutObjectCommand, GetObjectCommand, HeadObjectCommand,
         ListObjectsV2Command } from "@aws-sdk/client-s3";

const env = process.env;
const s3 = new S3Client({ endpoint: env.S3W_ENDPOINT, region: env.AWS_REGION || "us-east-1",
                          forcePathStyle: true, maxAttempts: 1 });
const Bucket = env.S3W_BUCKET, Key = env.S3W_KEY, body = env.S3W_BODY;

await s3.send(new PutObjectCommand({ Bucket, Key, Body: body }));
const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
if (head.ContentLength !== Buffer.byteLength(body)) throw new Error(`HEAD length ${head.ContentLength}`);
const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
const text = await got.Body.transformToString();
if (text !== body) throw new Error("GET body differs from PUT body");
const list = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: Key }));
if (!(list.Contents || []).some((o) => o.Key === Key)) throw new Error("key not listed");
console.log("roundtrip ok");

// Web identity credentials with the JavaScript SDK v3: fromTokenFile reads
// AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_SESSION_NAME, calls
// AssumeRoleWithWebIdentity at s3warden (clientConfig.endpoint: the SDK's
// own STS client, nothing else sends it there), and an S3Client signs with
// the role session. Prints one JSON line with what each call answered.
// Env: S3W_ENDPOINT S3W_BUCKET S3W_KEY (readable) S3W_DENIED_KEY, AWS_REGION.
import { S3Client, GetObjectCommand, DeleteObjectCommand } from "@aws-sdk/client-s3";
import { fromTokenFile } from "@aws-sdk/credential-providers";

const env = process.env;
const region = env.AWS_REGION || "us-east-1";
const credentials = fromTokenFile({ clientConfig: { endpoint: env.S3W_ENDPOINT, region,
                                                    maxAttempts: 1 } });
const s3 = new S3Client({ endpoint: env.S3W_ENDPOINT, region, forcePathStyle: true,
                          maxAttempts: 1, credentials });
const Bucket = env.S3W_BUCKET;

// each outcome as data, so the test asserts it exactly
const outcome = async (f) => {
    try {
        return { ok: true, ...(await f()) };
    } catch (e) {
        return { ok: false, name: e.name, code: e.Code ?? e.name, message: e.message,
                 status: e.$metadata?.httpStatusCode ?? null };
    }
};

const got = await outcome(async () => {
    const r = await s3.send(new GetObjectCommand({ Bucket, Key: env.S3W_KEY }));
    return { body: Buffer.from(await r.Body.transformToByteArray()).toString("base64") };
});
const denied = await outcome(async () => {
    const r = await s3.send(new DeleteObjectCommand({ Bucket, Key: env.S3W_DENIED_KEY }));
    return { status: r.$metadata.httpStatusCode };
});
// the credentials the S3 client signed with (memoized: no second STS call)
const c = await outcome(async () => {
    const k = await s3.config.credentials();
    return { accessKeyId: k.accessKeyId, accountId: k.accountId ?? null,
             hasSessionToken: Boolean(k.sessionToken) };
});
console.log(JSON.stringify({ get: got, delete: denied, credentials: c }));

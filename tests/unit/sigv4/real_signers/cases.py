"""Request cases shared by the real-signer scripts (botocore, curl, awscrt).

Each case is (name, method, path, query, extra headers). `path` is the object
path as a client would name it (unencoded); each signer encodes it its own
way, and the C test verifies what the signer produced, as sent on the wire.
"""
# The credentials the C test's lookup knows (tests/unit/sigv4/test_real_signers.c).
AKID = "AKIAREALSIGNER0001"
SECRET = "rs/Secret+Key=WithOdd/Chars0123456789abc"
TOKEN_AKID = "ASIAREALSIGNER0002"
TOKEN_SECRET = "tokenSecret/xyz+abc=="
TOKEN = "FwoGZXIvYXdzEBYaD+session/token==with+odd/chars"
REGION = "us-east-1"
HOST = "bucket.s3.amazonaws.com"

KEYS = [
    ("plain", "/bucket/plain.txt"),
    ("unicode", "/bucket/unicode-\u043a\u043b\u044e\u0447-\u00fc-\u20ac-\u65e5\u672c.txt"),
    ("space", "/bucket/a key with spaces.txt"),
    ("plus", "/bucket/a+b+c"),
    ("percent", "/bucket/100%-done%25"),
    ("tilde", "/bucket/~user/x~y"),
    ("equals", "/bucket/k=v&x=y"),
    ("doubleslash", "/bucket/dir//file"),
    ("dot", "/bucket/./file"),
    ("dotdot", "/bucket/a/../b"),
    ("trailingslash", "/bucket/dir/"),
    ("odd", "/bucket/star*paren()quote'excl!at@dollar$comma,semi;colon:"),
]

QUERIES = [
    ("q-empty-value", "/bucket", "acl", {}),
    ("q-list", "/bucket", "list-type=2&prefix=dir%2F&delimiter=%2F", {}),
    ("q-repeated", "/bucket/k", "a=2&a=1&b=&c", {}),
    ("q-unicode", "/bucket", "prefix=%E2%82%AC%20x&max-keys=5", {}),
]

HEADERS = [
    ("h-repeated", "/bucket/h", "", [("x-amz-meta-rep", "one"), ("X-Amz-Meta-Rep", "two"),
                                     ("x-amz-meta-spaces", "  a   b  "), ("Content-Type", "text/plain")]),
]

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


def random_cases(n, seed=20261122):
    """Seeded random (name, path, encoded query, form) tuples: keys and query
    strings from unicode, spaces, reserved characters, '%', '~', runs of '/',
    '.' and '..' segments, empty and repeated parameters."""
    import random
    from urllib.parse import quote
    rnd = random.Random(seed)
    alphabet = list("abcXYZ019-._~ !$&'()*+,;=:@%") + ["/", "//", "/./", "/../", "\u00e9", "\u20ac", "\u65e5", "\U0001f600"]
    out = []
    for i in range(n):
        key = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 24)))
        params = []
        for _ in range(rnd.randint(0, 4)):
            k = "".join(rnd.choice(alphabet[:28] + ["\u00e9"]) for _ in range(rnd.randint(1, 6)))
            v = "".join(rnd.choice(alphabet[:28] + ["/", "\u20ac"]) for _ in range(rnd.randint(0, 6)))
            params.append(quote(k, safe="~") + ("=" + quote(v, safe="~") if v or rnd.random() < 0.5 else ""))
            if rnd.random() < 0.2:
                params.append(params[-1])
        out.append(("rand-%02d" % i, "/bucket/" + key, "&".join(params), "header" if i % 2 == 0 else "query"))
    return out

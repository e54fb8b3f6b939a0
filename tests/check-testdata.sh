#!/bin/sh
# The vendored tests/testdata must match its recorded SHA256SUMS and, where
# the workspace's ../shared/testdata exists, be byte-identical to it.
set -eu
root=${S3W_SOURCE_ROOT:?}
# s3-post: this repository's own (not in shared/testdata), checked here only
for d in sigv4 s3-examples s3-post; do
  (cd "$root/tests/testdata/$d" && sha256sum --quiet -c SHA256SUMS)
done
shared="$root/../shared/testdata"
if [ -d "$shared" ]; then
  diff -r -x s3-post "$shared" "$root/tests/testdata"
  echo "tests/testdata identical to $shared"
else
  echo "no ../shared/testdata here; checked SHA256SUMS only"
fi

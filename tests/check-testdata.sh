#!/bin/sh
# The vendored tests/testdata must match its recorded SHA256SUMS and, where
# the workspace's ../shared/testdata exists, be byte-identical to it.
set -eu
root=${S3W_SOURCE_ROOT:?}
for d in sigv4 s3-examples; do
  (cd "$root/tests/testdata/$d" && sha256sum --quiet -c SHA256SUMS)
done
shared="$root/../shared/testdata"
if [ -d "$shared" ]; then
  diff -r "$shared" "$root/tests/testdata"
  echo "tests/testdata identical to $shared"
else
  echo "no ../shared/testdata here; checked SHA256SUMS only"
fi

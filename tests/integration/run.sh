#!/usr/bin/env bash
# Runs one integration test module with the Python that has boto3, the aws
# cli and moto ($S3W_PYTHON, printed by deploy/install-deps.sh), its bin dir
# first on PATH (aws, moto_server).
set -euo pipefail
py=${S3W_PYTHON:-python3}
PATH="$(dirname "$(command -v "$py")"):$PATH"
export PATH
exec "$py" -u "$@"

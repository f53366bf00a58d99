#!/usr/bin/env bash
# Lint tooling for template.yaml and statemachines/*.asl.json, kept out of the app's venv: aws-sam-cli pins
# its own boto3/pydantic, which must not leak into the code under test.
#
#   .ci/tools.sh install    create .tools/venv (aws-sam-cli) and .tools/node (asl-validator); idempotent
#   .ci/tools.sh lint       install if needed, then lint the template and every state machine
#   .ci/tools.sh sam ARGS   the pinned sam, e.g. `.ci/tools.sh sam build` (needs python3.13 on PATH)
#
# Offline once installed, and no AWS credentials needed: the SAM translator runs locally with a fixed table of
# the managed policies SAM attaches, and cfn-lint carries its own resource schemas.
set -euo pipefail

SAM_CLI_VERSION="1.170.0"
ASL_VALIDATOR_VERSION="4.0.0"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
NODE_PREFIX="$TOOLS/node"
SAM="$VENV/bin/sam"
ASL_VALIDATOR="$NODE_PREFIX/node_modules/.bin/asl-validator"

# SAM and cfn-lint resolve a region before doing anything; nothing here calls AWS.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-eu-central-1}"
export AWS_REGION="${AWS_REGION:-$AWS_DEFAULT_REGION}"
# No telemetry, no update check: CI reaches nothing but the package registries.
export SAM_CLI_TELEMETRY=0
export SAM_CLI_DISABLE_UPDATE_CHECK=1

log() { printf 'tools: %s\n' "$*" >&2; }

# pip's configured extra indexes may not exist on every machine; its warnings about them are noise.
quiet_pip() { "$VENV/bin/python" -m pip "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2); }

install_sam() {
    local have
    have="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("aws-sam-cli"))' 2>/dev/null || true)"
    [[ -x "$SAM" && "$have" == "$SAM_CLI_VERSION" ]] && return
    log "installing aws-sam-cli==$SAM_CLI_VERSION into .tools/venv"
    python3 -m venv "$VENV"
    quiet_pip install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_CLI_VERSION"
}

install_asl_validator() {
    local have
    have="$(node -p "require('$NODE_PREFIX/node_modules/asl-validator/package.json').version" 2>/dev/null || true)"
    [[ -x "$ASL_VALIDATOR" && "$have" == "$ASL_VALIDATOR_VERSION" ]] && return
    log "installing asl-validator@$ASL_VALIDATOR_VERSION into .tools/node"
    mkdir -p "$NODE_PREFIX"
    npm install --prefix "$NODE_PREFIX" --no-audit --no-fund --no-save --loglevel=error \
        "asl-validator@$ASL_VALIDATOR_VERSION"
}

# cfn-lint on what the SAM transform produces (the roles, event source mappings, API stage SAM writes),
# which `sam validate --lint` does not see: it checks the SAM resources themselves.
lint_transformed() {
    "$VENV/bin/python" - "$@" <<'PY'
import json
import sys
import tempfile

from cfnlint.api import lint_all
from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

template = yaml_parse(open("template.yaml", encoding="utf-8").read())
for name, resource in template["Resources"].items():
    props = resource.get("Properties", {})
    # Local paths become what `sam package` would write; definitions are inlined as `sam deploy` does.
    for key in ("CodeUri", "ContentUri"):
        if isinstance(props.get(key), str):
            props[key] = f"s3://bucket/{name}.zip"
    if isinstance(props.get("DefinitionUri"), str):
        props["Definition"] = json.load(open(props.pop("DefinitionUri"), encoding="utf-8"))


class ManagedPolicies:
    """The AWS managed policies SAM attaches for what this template uses (no IAM call)."""

    def load(self):
        return {
            "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            "AWSLambdaSQSQueueExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
            "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
        }


output = transform(template, {}, ManagedPolicies())
with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    json.dump(output, f, indent=1)
# Errors and warnings, as the cfn-lint command reports by default; informational rules are advice.
matches = [m for m in lint_all(open(f.name, encoding="utf-8").read()) if m.rule.id[0] in "EW"]
for match in matches:
    print(f"transformed template: {match.rule.id} {match.message} ({match.path_string})", file=sys.stderr)
sys.exit(1 if matches else 0)
PY
}

lint() {
    install_sam
    install_asl_validator
    cd "$ROOT"
    log "sam validate (SAM transform)"
    "$SAM" validate --template template.yaml
    log "sam validate --lint (cfn-lint on the SAM resources)"
    "$SAM" validate --lint --template template.yaml
    echo
    log "cfn-lint on the transformed template"
    lint_transformed
    local files=(statemachines/*.asl.json) args=()
    for f in "${files[@]}"; do args+=(--json-path "$f"); done
    log "asl-validator ${files[*]}"
    "$ASL_VALIDATOR" "${args[@]}"
}

case "${1:-lint}" in
    install) install_sam; install_asl_validator ;;
    lint) lint ;;
    sam) shift; install_sam; cd "$ROOT"; exec "$SAM" "$@" ;;
    *) echo "usage: $0 [install|lint|sam ARGS...]" >&2; exit 2 ;;
esac

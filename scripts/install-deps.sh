#!/usr/bin/env bash
# Installs what a fresh machine lacks for building and testing Polyphemus. Idempotent.
set -euo pipefail

missing=()
command -v python >/dev/null 2>&1 || missing+=(python-is-python3)
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
# unshare, setpriv and mount build the local engine's sandbox for workflow steps.
{ command -v unshare && command -v setpriv; } >/dev/null 2>&1 || missing+=(util-linux)
# A real sshd and OpenSSH's sftp client for the SFTP jobs' tests and benchmark.
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v sftp >/dev/null 2>&1 || missing+=(openssh-client)
# Headless Chromium and its WebDriver for the web UI's browser tests.
[ -x /usr/bin/chromedriver ] || missing+=(chromium chromium-driver)
python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
# The README's tour (crates/cli/tests/cli/readme_tour.rs) talks to the API with curl and jq.
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v jq >/dev/null 2>&1 || missing+=(jq)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: please install: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The user workflow steps of the local engine run as when the server runs as root.
if [ "$(id -u)" = 0 ] && ! id -u polyphemus-step >/dev/null 2>&1; then
  echo "install-deps: creating the system user polyphemus-step" >&2
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
    --user-group polyphemus-step
fi

rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt

# moto's S3-compatible server for the object-storage tests and benchmark.
if ! command -v moto_server >/dev/null 2>&1; then
  echo "install-deps: installing moto[server] from PyPI" >&2
  python3 -m pip install -q --disable-pip-version-check 'moto[server]==5.*'
  command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
fi

# scripts/validate-deploy: kubernetes-validate (PyPI; bundles Kubernetes' schemas, so it works
# offline) in a virtualenv of its own. `kubectl kustomize` is used when kubectl is installed.
tools="${POLYPHEMUS_TOOLS:-$HOME/.cache/polyphemus-tools}"
if ! "$tools/venv/bin/python" -c 'import kubernetes_validate, jsonschema, yaml' >/dev/null 2>&1; then
  echo "install-deps: installing kubernetes-validate into $tools/venv" >&2
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check 'kubernetes-validate==1.37.0'
fi
# pytest, in the same virtualenv, for the Python SDK's tests (sdk/python/tests, scripts/test).
if ! "$tools/venv/bin/python" -c 'import pytest' >/dev/null 2>&1; then
  echo "install-deps: installing pytest into $tools/venv" >&2
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check 'pytest==8.*'
fi
# aiosmtpd, in the same virtualenv: the real SMTP server the email-alert tests deliver to.
if ! "$tools/venv/bin/python" -c 'import aiosmtpd' >/dev/null 2>&1; then
  echo "install-deps: installing aiosmtpd into $tools/venv" >&2
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check 'aiosmtpd==1.4.*'
fi

# boto3 and psycopg 3, in the same virtualenv, for the csv-to-postgres example's job: its test
# (sdk/python/tests/test_csv_to_postgres.py) puts this venv's python first on the server's PATH,
# so the step's `python3` has them.
if ! "$tools/venv/bin/python" -c 'import boto3, psycopg' >/dev/null 2>&1; then
  echo "install-deps: installing boto3 and psycopg into $tools/venv" >&2
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check 'boto3==1.*' 'psycopg[binary]==3.*'
fi
# Hera and the official Argo Workflows SDK, in the same virtualenv: the real clients of the Argo
# Server API Polyphemus answers under /argo (sdk/python/tests/test_argo_api.py).
if ! "$tools/venv/bin/python" -c 'import hera, argo_workflows' >/dev/null 2>&1; then
  echo "install-deps: installing hera and argo-workflows into $tools/venv" >&2
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check 'hera==7.*' 'argo-workflows==6.*'
fi
# schemathesis, in the same virtualenv, for scripts/api-contract (the OpenAPI document checked
# against the running server). Hypothesis is pinned: 3.x breaks with Hypothesis > 6.131.14.
if ! "$tools/venv/bin/st" --version 2>/dev/null | grep -q ' 3\.39\.16$'; then
  echo "install-deps: installing schemathesis into $tools/venv" >&2
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis==3.39.16' 'hypothesis==6.131.14'
fi

# npm oidc-provider (an OpenID-certified provider) under Node, in the tools directory: the real
# OpenID provider of the sign-in tests (crates/testkit/oidc/provider.mjs).
if ! command -v node >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: please install: nodejs npm" >&2
    exit 1
  fi
  echo "install-deps: installing nodejs npm" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
oidc="$tools/oidc-provider"
if ! grep -qs '"version": "9.5.2"' "$oidc/node_modules/oidc-provider/package.json"; then
  echo "install-deps: installing oidc-provider into $oidc" >&2
  mkdir -p "$oidc"
  [ -f "$oidc/package.json" ] || echo '{"name":"polyphemus-oidc-test","private":true}' >"$oidc/package.json"
  (cd "$oidc" && npm install --silent --no-audit --no-fund 'oidc-provider@9.5.2')
fi

#!/usr/bin/env bash
# Installs the third-party WAMP peers that the interop tests (go test ./interop/) drive:
#   - Autobahn|Python from Debian (python3-autobahn, python3-twisted, python3-msgpack,
#     python3-cbor2), run with /usr/bin/python3, and python3-jsonschema, with which the
#     discovery test (discovery_test.go) checks the OpenRPC document's schemas;
#   - Autobahn|JS, when.js and wampy.js from npm, the discovery test's ajv, ajv-formats,
#     @open-rpc/schema-utils-js and @open-rpc/meta-schema, and the generated-client test's
#     (gen_test.go) typescript, @types/autobahn and pyright (which checks the Python clients
#     against Debian's /usr/bin/python3: no Debian package of its own), pinned in
#     interop/package-lock.json and installed into interop/node_modules (ignored by git).
#
# Idempotent: apt-get runs only when a package is missing (one `apt-get update` first), and
# `npm ci` only when node_modules is missing, lacks a package the tests require, or was
# installed from another package-lock.json.
# Needs root (or sudo) for apt-get, and Node.js >= 20 with npm on PATH.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

apt_pkgs=(python3-autobahn python3-twisted python3-msgpack python3-cbor2 python3-jsonschema)

missing=()
for p in "${apt_pkgs[@]}"; do
  # dpkg -s also succeeds for a removed package whose config files remain: read its Status.
  if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  echo "interop/install.sh: installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "interop/install.sh: Debian packages present: ${apt_pkgs[*]}"
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "interop/install.sh: node and npm are needed for the JavaScript peers" >&2
  exit 1
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "interop/install.sh: Node.js >= 20 is needed (found $(node --version))" >&2
  exit 1
fi

# node_modules is fresh when it was installed by `npm ci` from this very package-lock.json,
# and holds every package that the tests require by name.
stamp="$here/node_modules/.wampfn-interop-lock.sha256"
want="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
have=""
if [ -f "$stamp" ]; then have="$(cat "$stamp")"; fi
npm_dirs=(autobahn wampy when ajv ajv-formats @open-rpc/schema-utils-js @open-rpc/meta-schema
  typescript @types/autobahn pyright)
fresh=1
if [ "$have" != "$want" ]; then fresh=0; fi
for d in "${npm_dirs[@]}"; do
  if [ ! -d "$here/node_modules/$d" ]; then fresh=0; fi
done
if ((!fresh)); then
  echo "interop/install.sh: npm ci in interop/"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
else
  echo "interop/install.sh: interop/node_modules is up to date with package-lock.json"
fi

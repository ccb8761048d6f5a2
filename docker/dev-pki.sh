#!/bin/sh
# The compose `pki` service: writes a development PKI into $PKI_DIR once (root CA, organisation
# CA, certificates for the nodes named in $NODES), then exits. Idempotent: nothing is replaced.
# DEV ONLY: the organisation CA key stays in the volume so workers (scaled, unnamed) can get a
# certificate at start; in production every node gets its certificate from your CA.
set -eu
PKI_DIR=${PKI_DIR:-/pki}
ORG=${ORG:-hypha-dev}
NODES=${NODES:-gateway scheduler}
certutil() { node /app/packages/mtls/bin/hypha-certutil.js "$@"; }

mkdir -p "$PKI_DIR"
if [ ! -f "$PKI_DIR/$ORG-ca-cert.pem" ]; then
  certutil root -o "$ORG" -d "$PKI_DIR"
  certutil org --root-cert "$PKI_DIR/$ORG-root-ca-cert.pem" --root-key "$PKI_DIR/$ORG-root-ca-key.pem" -o "$ORG" -d "$PKI_DIR"
fi
for name in $NODES; do
  [ -f "$PKI_DIR/$name-cert.pem" ] && continue
  certutil node -n "$name" --ca-cert "$PKI_DIR/$ORG-ca-cert.pem" --ca-key "$PKI_DIR/$ORG-ca-key.pem" -d "$PKI_DIR"
done
# the apps run as uid 1000 and read their keys; workers issue their own certificate (dev only)
chown -R 1000:1000 "$PKI_DIR" 2>/dev/null || true
echo "dev PKI ready in $PKI_DIR ($ORG): $(ls "$PKI_DIR" | tr '\n' ' ')"

#!/usr/bin/env sh
# Registers the namespace and the custom search attributes on a Temporal cluster. Idempotent.
# Used by docker-compose (the temporal-setup service) and by hand against any cluster:
#   TEMPORAL_ADDRESS=host:7233 NAMESPACE=neuronode temporal/setup.sh
set -eu
ADDR="${TEMPORAL_ADDRESS:-127.0.0.1:7233}"
NS="${NAMESPACE:-default}"
RETENTION="${RETENTION:-7d}"
DIR="$(cd "$(dirname "$0")" && pwd)"
until temporal operator cluster health --address "$ADDR" >/dev/null 2>&1; do sleep 1; done
temporal operator namespace describe --address "$ADDR" --namespace "$NS" >/dev/null 2>&1 \
  || temporal operator namespace create --address "$ADDR" --namespace "$NS" --retention "$RETENTION"
grep -v '^#' "$DIR/search-attributes.txt" | grep -v '^$' | while IFS='=' read -r name type; do
  temporal operator search-attribute create --address "$ADDR" --namespace "$NS" --name "$name" --type "$type" >/dev/null 2>&1 || true
done
echo "temporal setup: namespace $NS with search attributes ready"

#!/bin/sh
# A Hypha job in shell (docs/services.md): progress twice over the job bridge, then the size and
# sha256 of its input as the JSON result on stdout (result = "json"). Needs curl and sha256sum.
set -eu
bridge() { curl -sf --unix-socket "$HYPHA_JOB_SOCKET" "$@"; }
bridge -X POST -H 'content-type: application/json' -d '{"fraction":0.1,"message":"started"}' http://job/v1/progress
n=$(wc -c < "$HYPHA_INPUT" | tr -d ' ')
digest=$(sha256sum "$HYPHA_INPUT" | cut -d' ' -f1)
bridge -X POST -H 'content-type: application/json' -d '{"fraction":1,"message":"hashed"}' http://job/v1/progress
printf '{"bytes": %s, "sha256": "%s"}' "$n" "$digest"

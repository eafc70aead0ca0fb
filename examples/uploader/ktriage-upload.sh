#!/bin/sh
# Posts a machine's kernel crash logs to `ktriage serve` (README, "Many
# machines"; docs/serve.md).
#
#   ktriage-upload.sh [FILE...]       the files given ("-": standard input)
#   ktriage-upload.sh                 what the last crash left: systemd-pstore's
#                                     /var/lib/systemd/pstore/*/dmesg*, kdump's
#                                     /var/crash/*/vmcore-dmesg.txt
#
# Environment:
#   KTRIAGE_URL          the server, e.g. http://crash.example:8080 (required)
#   KTRIAGE_TOKEN_FILE   file holding the server's token (default /etc/ktriage/token, if present)
#   KTRIAGE_HOST         the name the reports are filed under (default: hostname)
#
# Uploads are idempotent (the server keys a report by host and text), so
# running this at every boot, or from a timer over a growing netconsole
# capture, stores nothing twice:
#   nc -lku 6666 >> /var/log/netconsole.log &                      # on the log host
#   KTRIAGE_HOST=web7 ktriage-upload.sh /var/log/netconsole.log
# Bodies are sent gzip-compressed; curl retries while the server restarts
# (connection refused, timeouts, 5xx) but not a refusal (4xx).
# Exit status: 0 all posted (or nothing to post), 1 a post failed.
set -eu

url=${KTRIAGE_URL:?set KTRIAGE_URL, e.g. http://crash.example:8080}
host=${KTRIAGE_HOST:-$(hostname)}
token_file=${KTRIAGE_TOKEN_FILE:-/etc/ktriage/token}
auth=""
[ -r "$token_file" ] && auth="Authorization: Bearer $(head -n 1 "$token_file")"

post() {  # FILE SOURCE
  # --retry: timeouts, 5xx and a refused connection (a restarting server), never a 4xx.
  rc=0
  gzip -c -- "$1" | curl --silent --show-error --fail-with-body --retry 5 --retry-connrefused --retry-delay 2 \
    --max-time 120 -H "Content-Type: text/plain" -H "Content-Encoding: gzip" -H "X-Ktriage-Host: $host" \
    -H "X-Ktriage-Source: $2" ${auth:+-H "$auth"} --data-binary @- "$url/api/v1/logs" || rc=$?
  echo
  return $rc
}

status=0
if [ $# -eq 0 ]; then
  for f in /var/lib/systemd/pstore/*/dmesg* /var/crash/*/vmcore-dmesg.txt; do
    [ -f "$f" ] || continue
    post "$f" "$f" || status=1
  done
else
  for f in "$@"; do
    post "$f" "$([ "$f" = - ] && echo stdin || echo "$f")" || status=1
  done
fi
exit $status

#!/usr/bin/env bash
# Keeps one process of the embedded default running: starts COMMAND, and when it dies (a crash, a kill,
# an exit) starts it again after a back-off (1 s, doubling while it keeps dying within 10 s, up to 30 s).
# A TERM or INT to the supervisor stops the process and the supervisor. Exit code 78 (the process
# refused its configuration) is not retried: a restart would refuse it again.
#
#   scripts/supervise.sh NAME STATE_FILE -- COMMAND...
#
# STATE_FILE holds one line: `<state> pid=<pid of COMMAND> restarts=<n> last_exit=<code or ->`, which
# `stack/stack.sh status` prints.
set -uo pipefail
name="$1" state="$2"
shift 2
[ "${1:-}" = "--" ] && shift
restarts=0 delay=1 last=- child="" stopping=""

write_state() { printf '%s pid=%s restarts=%s last_exit=%s\n' "$1" "${child:--}" "$restarts" "$last" >"$state.tmp" && mv "$state.tmp" "$state"; }

on_stop() {
  stopping=1
  [ -n "$child" ] && kill -TERM "$child" 2>/dev/null
}
trap on_stop TERM INT

while :; do
  started=$(date +%s)
  "$@" &
  child=$!
  write_state running
  # `wait` returns early when a signal arrives; wait again until the process has really ended.
  wait "$child"
  last=$?
  while kill -0 "$child" 2>/dev/null; do wait "$child"; last=$?; done
  if [ -n "$stopping" ]; then write_state stopped; rm -f "$state"; exit 0; fi
  if [ "$last" = 78 ]; then
    echo "[supervise] $name refused its configuration (exit 78); not restarting" >&2
    write_state failed
    exit 78
  fi
  if [ $(( $(date +%s) - started )) -ge 10 ]; then delay=1; fi
  restarts=$((restarts + 1))
  echo "[supervise] $name (pid $child) ended with exit code $last; restart $restarts in ${delay}s" >&2
  write_state restarting
  sleep "$delay" & wait $! 2>/dev/null
  if [ -n "$stopping" ]; then rm -f "$state"; exit 0; fi
  delay=$(( delay * 2 > 30 ? 30 : delay * 2 ))
done

#!/usr/bin/env bash
# What the test suite needs besides Python, brought up by `make test` on this machine:
#   - PostgreSQL on 127.0.0.1:5432, started when it is installed (Debian's pg_ctlcluster) but down;
#   - Debian's /usr/bin/chromium for the browser test, installed with apt-get when running as root.
# Each step that cannot be done says so in one line and leaves the decision to the tests: they
# skip locally and fail under CI=true. When everything is already up this takes milliseconds.
set -uo pipefail

say() { echo "test-services: $*"; }

postgres() {
  if [ -n "${GONGDAN_TEST_PG_URL:-}" ]; then
    return 0  # the operator points the tests at their own server
  fi
  if ! command -v pg_isready >/dev/null; then
    say "PostgreSQL is not installed: its tests skip (under CI=true they fail)"
    return 0
  fi
  if pg_isready -h 127.0.0.1 -p 5432 -q; then
    return 0
  fi
  local cluster
  cluster=$(pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 { print $1, $2; exit }')
  if [ -z "$cluster" ]; then
    say "PostgreSQL is down and no local cluster listens on 5432: its tests skip (under CI=true they fail)"
    return 0
  fi
  say "starting PostgreSQL (cluster $cluster)"
  # shellcheck disable=SC2086  # "version name", two words on purpose
  if ! pg_ctlcluster --skip-systemctl-redirect $cluster start; then
    say "could not start PostgreSQL (run this as root or as the cluster's owner): its tests skip (under CI=true they fail)"
    return 0
  fi
  for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p 5432 -q && return 0
    sleep 1
  done
  say "PostgreSQL started but does not answer on 127.0.0.1:5432 after 30 s"
}

chromium() {
  if [ -x /usr/bin/chromium ]; then
    return 0
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "skipping the chromium install (needs root and apt-get): the browser test skips (under CI=true it fails); install it with: sudo apt-get install chromium"
    return 0
  fi
  say "installing Debian's chromium for the browser test"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
    say "apt-get could not install chromium: the browser test skips (under CI=true it fails)"
  fi
}

postgres
chromium

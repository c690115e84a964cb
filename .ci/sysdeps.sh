#!/bin/sh
# Install the Debian packages named in $PKGS when any is missing.
# As root: apt-get does it. As another user: stop and print the exact command to run.
set -e
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "installing system packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq $missing >/dev/null
else
  echo "These system packages are missing:$missing"
  echo "Run:  sudo apt-get install -y$missing"
  echo "then run the make command again."
  exit 1
fi

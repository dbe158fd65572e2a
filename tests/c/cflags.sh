#!/bin/sh
# The C flags of the harnesses in this folder: setup.py's own, read from the one place
# they are stated (src/cinev4/csrc/cflags.txt), plus -Werror and an include path for each
# source folder. The harnesses run it and expand what it prints (unquoted):
#   flags=$(sh "$here/cflags.sh")
set -eu
here=$(cd "$(dirname "$0")" && pwd)
csrc=$(cd "$here/../../src/cinev4/csrc" && pwd)
value() { sed -n "s/^$1 *= *//p" "$csrc/cflags.txt"; }
flags="$(value release) $(value cflags) -Werror"
if [ "$(uname -s)" = Linux ]; then
  for macro in $(value linux_defines); do flags="$flags -D$macro"; done
fi
for folder in $(value folders); do flags="$flags -I$csrc/$folder"; done
echo "$flags"

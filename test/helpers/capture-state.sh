#!/bin/sh
# Prints a namespace's live state in the shape of test/cases/*/current.json (what a golden plan case
# plans from): capture-state.sh NETNS > test/cases/NAME/current.json
set -eu
ns=$1
printf '{\n"kernel": "%s",\n"addr": ' "${XENBRIDGE_CASE_KERNEL:-$(uname -r)}"
ip -n "$ns" -j -d addr show
printf ',\n"route4": '
ip -n "$ns" -j route show table main
printf ',\n"route6": '
ip -n "$ns" -j -6 route show table main
printf ',\n"vlans": '
bridge -n "$ns" -j vlan show 2>/dev/null || printf '[]'
printf '\n}\n'

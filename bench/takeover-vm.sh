#!/usr/bin/env bash
# The takeover's outage in the VM bed (Debian 12's 6.1 kernel: the down/up path) and on this
# machine's kernel (both paths), compared in one run. Needs root, `npm run build` and
# test/vm/prepare.sh.   bench/takeover-vm.sh [ROUNDS]   (default 3)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds=${1:-3}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/takeover-vm.sh [ROUNDS]" >&2; exit 2; }
exec node --input-type=module -e "
const b = await import('./bench/takeover.mjs');
const native = await b.benchTakeover({ rounds: $rounds });
const vm = await b.benchTakeoverInVm({ rounds: $rounds });
b.printTakeover(native);
b.printTakeover(vm);
b.printTakeoverVm(native, vm);
"

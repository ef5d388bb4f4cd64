#!/bin/bash
# Run a command on an AVX2-only view of this CPU (no AVX-512, VNNI, AVX-VNNI,
# AMX or BF16), for benchmarks that must take their AVX2 code paths:
#
#   bench/avx2_only.sh [--cpus N] [--env NAME=VALUE]... -- COMMAND...
#   e.g.  cd /work/main && bench/avx2_only.sh -- .venv/bin/python bench/encode.py
#
# Why: ONNX Runtime (MLAS) cannot be capped to AVX2 by environment variables;
# it reads CPUID. A KVM guest with an AVX2 CPU model would be the cleanest
# fix, but this host's KVM is PVM (no VMX), which boots only PVM-built guest
# kernels. So instead: the kernel's CPUID faulting (arch_prctl ARCH_SET_CPUID,
# "cpuid_fault" in /proc/cpuinfo) makes every CPUID instruction trap, and a
# small LD_PRELOAD library answers it with the AVX-512/AMX/VNNI/BF16 bits (and
# their XSAVE state components) cleared. glibc's own ifuncs are capped with
# GLIBC_TUNABLES, and /proc/cpuinfo is replaced by a filtered copy in a
# private mount namespace. The code runs natively, on the host's filesystem,
# in the caller's directory and environment; the exit status is COMMAND's.
#
# Limits: XGETBV still reports the real XCR0 (libraries gate AVX-512 on the
# CPUID bits as well, so they still choose AVX2); statically linked programs
# and raw-syscall runtimes (Go) are not covered.
#
# Needs: root (for the mount namespace), a CPU/kernel with cpuid_fault, and a
# C compiler (installs the Debian package gcc if missing). The library is
# cached in /var/cache/pluralist-avx2-vm.
set -euo pipefail

cpus=
extra_env=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --cpus) cpus=$2; shift 2 ;;
    --env) extra_env+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "usage: $0 [--cpus N] [--env NAME=VALUE]... -- COMMAND..." >&2; exit 2 ;;
  esac
done
[[ $# -gt 0 ]] || { echo "$0: no command given" >&2; exit 2; }
grep -q -w cpuid_fault /proc/cpuinfo || { echo "$0: this CPU/kernel has no cpuid_fault" >&2; exit 2; }

read -r -d '' src <<'EOF' || true
#define _GNU_SOURCE
#include <cpuid.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <asm/prctl.h>
#include <sys/syscall.h>

static struct sigaction user_segv;  /* the program's own SIGSEGV disposition */
static int installed;
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);

static void set_cpuid(int on) { syscall(SYS_arch_prctl, ARCH_SET_CPUID, on); }

static void mask(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d) {
  if (leaf == 7 && sub == 0) {
    *b &= ~(1u<<16 | 1u<<17 | 1u<<21 | 1u<<26 | 1u<<27 | 1u<<28 | 1u<<30 | 1u<<31); /* avx512 f dq ifma pf er cd bw vl */
    *c &= ~(1u<<1 | 1u<<6 | 1u<<11 | 1u<<12 | 1u<<14);  /* vbmi vbmi2 vnni bitalg vpopcntdq */
    *d &= ~(1u<<2 | 1u<<3 | 1u<<8 | 1u<<22 | 1u<<23 | 1u<<24 | 1u<<25); /* 4vnniw 4fmaps vp2intersect amx_bf16 fp16 amx_tile amx_int8 */
  } else if (leaf == 7 && sub == 1) {
    *a &= ~(1u<<4 | 1u<<5 | 1u<<21 | 1u<<23);  /* avx_vnni avx512_bf16 amx_fp16 avx_ifma */
    *d &= ~(1u<<4 | 1u<<5 | 1u<<8 | 1u<<10 | 1u<<19); /* avx_vnni_int8 avx_ne_convert amx_complex avx_vnni_int16 avx10 */
  } else if (leaf == 0xd && sub == 0) {
    *a &= ~(7u<<5 | 3u<<17);                   /* opmask/zmm state, AMX tile state */
  } else if ((leaf == 0xd && ((sub >= 5 && sub <= 7) || sub == 17 || sub == 18)) ||
             leaf == 0x1d || leaf == 0x1e || leaf == 0x24) {
    *a = *b = *c = *d = 0;
  }
}

static void on_segv(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  greg_t *g = uc->uc_mcontext.gregs;
  const unsigned char *ip = (const unsigned char *)g[REG_RIP];
  if (si->si_code == SI_KERNEL && ip[0] == 0x0f && ip[1] == 0xa2) {  /* CPUID */
    uint32_t leaf = g[REG_RAX], sub = g[REG_RCX], a, b, c, d;
    int e = errno;
    set_cpuid(1); __cpuid_count(leaf, sub, a, b, c, d); set_cpuid(0);
    errno = e;
    mask(leaf, sub, &a, &b, &c, &d);
    g[REG_RAX] = a; g[REG_RBX] = b; g[REG_RCX] = c; g[REG_RDX] = d;
    g[REG_RIP] += 2;
    return;
  }
  if (user_segv.sa_flags & SA_SIGINFO) { user_segv.sa_sigaction(sig, si, ucv); return; }
  if (user_segv.sa_handler != SIG_DFL && user_segv.sa_handler != SIG_IGN) { user_segv.sa_handler(sig); return; }
  struct sigaction dfl = { .sa_handler = SIG_DFL };  /* re-fault with the default action */
  real_sigaction(SIGSEGV, &dfl, NULL);
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  if (!real_sigaction) real_sigaction = dlsym(RTLD_NEXT, "sigaction");
  if (sig != SIGSEGV || !installed) return real_sigaction(sig, act, old);
  if (old) *old = user_segv;
  if (act) user_segv = *act;
  return 0;
}

sighandler_t signal(int sig, sighandler_t h) {
  struct sigaction sa = { .sa_handler = h, .sa_flags = SA_RESTART }, old;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, &old) ? SIG_ERR : old.sa_handler;
}

__attribute__((constructor(101))) static void init(void) {
  real_sigaction = dlsym(RTLD_NEXT, "sigaction");
  struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART };
  sigemptyset(&sa.sa_mask);
  user_segv.sa_handler = SIG_DFL;
  if (real_sigaction(SIGSEGV, &sa, NULL) == 0) { installed = 1; set_cpuid(0); }
}
EOF

cache=/var/cache/pluralist-avx2-vm
lib=$cache/avx2cpuid-$(printf '%s' "$src" | md5sum | cut -c1-8).so
if [[ ! -f $lib ]]; then
  command -v cc >/dev/null || { apt-get update -qq >&2; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc >&2; }
  mkdir -p "$cache"
  printf '%s\n' "$src" > "$cache/avx2cpuid.c"
  cc -O2 -shared -fPIC -o "$lib.tmp" "$cache/avx2cpuid.c" -ldl
  mv "$lib.tmp" "$lib"
fi

run=$(mktemp -d /tmp/avx2only.XXXXXX)
trap 'rm -rf "$run"' EXIT
sed -E '/^flags/ s/ (avx512[a-z0-9_]*|amx[a-z0-9_]*|avx_vnni[a-z0-9_]*|avx_ifma|avx_ne_convert|avx10[a-z0-9_.]*)\b//g' \
  /proc/cpuinfo > "$run/cpuinfo"

hw=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD,-AVX512ER,-AVX512PF
env=(LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}"
     GLIBC_TUNABLES="glibc.cpu.hwcaps=$hw${GLIBC_TUNABLES:+:$GLIBC_TUNABLES}" "${extra_env[@]}")
pin=()
[[ -n $cpus ]] && pin=(taskset -c "0-$((cpus - 1))")

set +e
unshare --mount --propagation private -- \
  sh -c 'mount --bind "$0" /proc/cpuinfo && exec "$@"' "$run/cpuinfo" \
  env "${env[@]}" "${pin[@]}" "$@"
rc=$?
exit $rc

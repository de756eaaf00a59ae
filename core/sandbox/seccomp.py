"""A seccomp deny-list for the sandbox, as the classic BPF program bubblewrap loads with ``--seccomp FD``.

Why hand-assembled: the filter is a dozen instructions plus one comparison per denied call, and the libraries
that would build it are not usable here (libseccomp's own Python binding is not on PyPI; Debian's
python3-seccomp serves the system Python, not the venv; pyseccomp is unmaintained since 2021). The program:
a foreign architecture (i386 or x32 calls from an x86-64 process) kills the process; the calls below fail with
EPERM; ``socket`` works for AF_UNIX only (there is no network in the sandbox anyway); ``clone`` may not make a
user namespace (``clone3`` answers ENOSYS so the C library uses ``clone``); everything else is allowed. Where
bubblewrap has ``--disable-userns`` (0.8+) the sandbox also uses it: two locks on the same door.

The denied calls are the kernel surfaces a Python reward never needs and container runtimes deny too: tracing
and other processes' memory, mounts and namespaces, modules, kexec, keyrings, BPF, perf, userfaultfd, io_uring,
clocks, swap, reboot, quotas, handles to arbitrary inodes. Only x86-64 has a table here; elsewhere
:func:`deny_list_program` returns ``None`` and the sandbox runs with its namespaces and rlimits alone.
"""
from __future__ import annotations

import errno
import platform
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
AF_UNIX = 1

SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000

# classic BPF opcodes
LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
JSET_K = 0x45  # BPF_JMP | BPF_JSET | BPF_K
RET_K = 0x06  # BPF_RET | BPF_K

# offsets in struct seccomp_data
NR, ARCH, ARG0 = 0, 4, 16

X86_64_DENIED = {
    "ptrace": 101, "syslog": 103, "uselib": 134, "personality": 135, "vhangup": 153, "modify_ldt": 154,
    "pivot_root": 155, "_sysctl": 156, "adjtimex": 159, "chroot": 161, "acct": 163, "settimeofday": 164,
    "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169, "sethostname": 170,
    "setdomainname": 171, "iopl": 172, "ioperm": 173, "init_module": 175, "delete_module": 176, "quotactl": 179,
    "lookup_dcookie": 212, "clock_settime": 227, "kexec_load": 246, "add_key": 248, "request_key": 249,
    "keyctl": 250, "migrate_pages": 256, "unshare": 272, "move_pages": 279, "perf_event_open": 298,
    "fanotify_init": 300, "name_to_handle_at": 303, "open_by_handle_at": 304, "clock_adjtime": 305, "setns": 308,
    "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "finit_module": 313, "kexec_file_load": 320,
    "bpf": 321, "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "pidfd_getfd": 438, "mount_setattr": 442, "quotactl_fd": 443,
}
X86_64_SOCKET, X86_64_CLONE, X86_64_CLONE3 = 41, 56, 435
CLONE_NEWUSER = 0x10000000


def assemble(program: list[tuple | str]) -> bytes:
    """Classic BPF from ``(opcode, k, jump_if_true, jump_if_false)`` rows whose jumps name labels; a label is a
    row of one string, marking the instruction after it."""
    labels, at = {}, 0
    for row in program:
        if isinstance(row, str):
            labels[row] = at
        else:
            at += 1
    out, at = [], 0
    for row in program:
        if isinstance(row, str):
            continue
        code, k, *jumps = row
        jt, jf = [labels[j] - at - 1 if j else 0 for j in (jumps + [None, None])[:2]]
        if not 0 <= jt < 256 or not 0 <= jf < 256:
            raise ValueError("a seccomp jump does not fit in 8 bits")
        out.append(struct.pack("=HBBI", code, jt, jf, k))
        at += 1
    return b"".join(out)


def deny_list_program(machine: str | None = None) -> bytes | None:
    """The filter for this machine's architecture (``None`` where there is no syscall table here)."""
    if (machine or platform.machine()) not in ("x86_64", "amd64", "AMD64"):
        return None
    program: list[tuple | str] = [
        (LD_W_ABS, ARCH), (JEQ_K, AUDIT_ARCH_X86_64, "native"), (RET_K, SECCOMP_RET_KILL_PROCESS),
        "native", (LD_W_ABS, NR), (JGE_K, X32_SYSCALL_BIT, "deny")]
    program += [(JEQ_K, number, "deny") for number in sorted(set(X86_64_DENIED.values()))]
    program += [
        (JEQ_K, X86_64_SOCKET, "socket"), (JEQ_K, X86_64_CLONE, "clone"), (JEQ_K, X86_64_CLONE3, "no_clone3"),
        (RET_K, SECCOMP_RET_ALLOW),
        "socket", (LD_W_ABS, ARG0), (JEQ_K, AF_UNIX, "allow", "deny"),
        "clone", (LD_W_ABS, ARG0), (JSET_K, CLONE_NEWUSER, "deny", "allow"),
        "allow", (RET_K, SECCOMP_RET_ALLOW),
        # clone3 hides its flags behind a pointer: ENOSYS makes the C library fall back to clone, checked above
        "no_clone3", (RET_K, SECCOMP_RET_ERRNO | errno.ENOSYS),
        "deny", (RET_K, SECCOMP_RET_ERRNO | errno.EPERM)]
    return assemble(program)

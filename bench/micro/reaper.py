#!/usr/bin/env python3
# A minimal init for bench/micro's supervisor comparison: runs its command as a
# child while being a child subreaper (PR_SET_CHILD_SUBREAPER), so that every
# process orphaned below it (the server a monit start program leaves running in
# the background, the workloads of a SIGKILLed agent) is re-parented here and
# reaped the moment it exits, as systemd (PID 1) does on a Debian host. This
# machine's PID 1 does not reap orphans: without this, a killed server would
# stay a zombie, which monit reports as a running-but-zombie process for
# several cycles and which would make monit look slower than it is.
# SIGINT/SIGTERM/SIGHUP are forwarded to the command. When the command exits,
# whatever is still re-parented here (a leak: the command failed to clean up)
# is SIGKILLed (SIGCONT first, for stopped ones), then this exits with the
# command's status. Usage: reaper.py COMMAND [ARGS...]
import ctypes
import os
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def main():
    if len(sys.argv) < 2:
        sys.stderr.write('usage: reaper.py COMMAND [ARGS...]\n')
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.stderr.write('reaper.py: prctl(PR_SET_CHILD_SUBREAPER) failed: %s\n' % os.strerror(ctypes.get_errno()))
        return 1
    child = os.fork()
    if child == 0:
        try:
            os.execvp(sys.argv[1], sys.argv[1:])
        finally:
            os._exit(127)

    def forward(sig, _frame):
        try:
            os.kill(child, sig)
        except ProcessLookupError:
            pass
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, forward)

    status = 1
    while True:
        try:
            pid, st = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            break
        if pid == child:
            status = os.waitstatus_to_exitcode(st)
            if status < 0:
                status = 128 - status
            break
    # Leftovers re-parented to us: kill and reap them (a few passes: killing one
    # may orphan its own children, which are then re-parented here).
    me = str(os.getpid())
    killed = []
    for _ in range(20):
        leftovers = []
        for d in os.listdir('/proc'):
            if not d.isdigit():
                continue
            try:
                with open('/proc/%s/stat' % d) as f:
                    s = f.read()
                ppid = s[s.rindex(')') + 2:].split(' ')[1]
            except (OSError, ValueError):
                continue
            if ppid == me:
                leftovers.append(int(d))
        if not leftovers:
            break
        for pid in leftovers:
            for sig in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            if pid not in killed:
                killed.append(pid)
        time.sleep(0.05)
        while True:
            try:
                pid, _st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
    if killed:
        sys.stderr.write('reaper.py: killed %d leftover process(es): %s\n' % (len(killed), ' '.join(map(str, killed))))
    return status


if __name__ == '__main__':
    sys.exit(main())

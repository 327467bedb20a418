"""A stand-in for libsbox's zygote calls, for the tests of the protocol
between the program, its template and the workers (lifecycle, status
relay, signals, fds, errors) where no sandbox is wanted: it builds none.

sbox._zygote.NATIVE = "fake_zygote:Fake" makes a template use it.  Its
enter() refuses a policy holding "FakeEnterFails=" (the path of an enter
that fails), and while the file a policy's "FakeSpareFails=PATH" names
exists, a spare's enter (keep_fds: [0, its socket]) fails too; check_clean() looks at /proc/self/maps and fds as libsbox
does, so the refusal's path to the program is exercised too.
"""

import os
import stat


class FakeError(OSError):
    pass


class Fake:
    def open(self, socket_path):
        self.socket = socket_path

    def check_clean(self):
        with open("/proc/self/maps") as f:
            for line in f:
                if os.path.basename(line.split()[-1]).startswith("libcuda.so"):
                    raise FakeError("fake: libcuda mapped: %s" % line.split()[-1])
        for fd in os.listdir("/proc/self/fd"):
            try:
                st = os.stat("/proc/self/fd/" + fd)
            except OSError:
                continue
            if stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 195:
                raise FakeError("fake: fd %s is open on an NVIDIA device" % fd)

    def prefork(self):
        pass

    def postfork(self, pid):
        pass

    def enter(self, policy, gpu_count, keep_fds):
        if "FakeEnterFails=" in policy:
            raise FakeError("fake: enter refused the policy (FakeEnterFails=)")
        for line in policy.splitlines():
            name, _, path = line.partition("=")
            if name == "FakeSpareFails" and len(keep_fds) == 2 and os.path.exists(path):
                raise FakeError("fake: a spare's enter failed (FakeSpareFails=%s)" % path)
        keep = set(keep_fds) | {0}
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd > 2 and fd not in keep:
                try:
                    os.close(fd)
                except OSError:
                    pass
        return [("SBOX_FAKE_GPUS", str(gpu_count))]

    def reaped(self, pid):
        pass

    def close(self):
        pass

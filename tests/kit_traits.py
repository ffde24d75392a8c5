"""Other systems' traits, reproduced on Linux one at a time, for the portability tests.

Not imported by the kit's tests: `tests/platform_traits.py` copies this file into
a throwaway virtual environment whose `.pth` imports it at every interpreter start,
the grader's and every student program's alike (`python -I` still reads `.pth`
files). `KIT_TRAITS` (comma-separated) names the traits to put on:

- `no-resource`: Windows has no `resource` module.
- `rlimit-as-refused`: macOS refuses `setrlimit(RLIMIT_AS, ...)` (ValueError).
- `no-posix-signals`: Windows has no SIGALRM, SIGUSR1, SIGUSR2, no `setitimer`,
  and no `faulthandler.register`.
- `killpg-eperm-on-zombies`: macOS's `killpg` fails with EPERM on a group whose
  members are all unreaped zombies.
- `udp-9216`: macOS refuses a datagram over 9,216 bytes (EMSGSIZE).
- `refused-connect-delay`: Windows takes about 2 s to report a refused loopback
  connect (it retries the SYN); a socket with a shorter timeout times out instead.
- `udp-reset`: after `sendto` toward a closed UDP port, Windows raises
  ConnectionResetError from the next `recv`/`recvfrom` on that socket.

Standard library only, and every wrapper calls the real function.
"""

import errno
import os
import socket
import sys
import time
import weakref
from typing import Any

TRAITS = {name for name in os.environ.get("KIT_TRAITS", "").split(",") if name}
WINDOWS_REFUSED_SECONDS = 2.0
MACOS_MAX_DATAGRAM = 9216


def _replace(owner: object, name: str, value: object) -> None:
    """Put `value` in place of `owner.name` (typed loosely: these wrappers take any call)."""
    setattr(owner, name, value)


def _no_resource() -> None:
    sys.modules["resource"] = None  # type: ignore[assignment]  # import now fails


def _rlimit_as_refused() -> None:
    import resource

    real_setrlimit = resource.setrlimit

    def setrlimit(which: int, limits: tuple[int, int]) -> None:
        if which == resource.RLIMIT_AS:
            raise ValueError("current limit exceeds maximum limit")
        real_setrlimit(which, limits)

    _replace(resource, "setrlimit", setrlimit)


def _no_posix_signals() -> None:
    import faulthandler
    import signal

    for name in ("SIGALRM", "SIGUSR1", "SIGUSR2", "setitimer", "getitimer", "alarm",
                 "ITIMER_REAL"):
        if hasattr(signal, name):
            delattr(signal, name)
    for name in ("register", "unregister"):
        if hasattr(faulthandler, name):
            delattr(faulthandler, name)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stream:
            return stream.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _group_members(group: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stream:
                    if int(stream.read().rsplit(")", 1)[1].split()[2]) == group:
                        members.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return members


def _killpg_eperm_on_zombies() -> None:
    real_killpg = os.killpg

    def killpg(group: int, signal_number: int) -> None:
        members = _group_members(group)
        if members and all(_is_zombie(pid) for pid in members):
            raise PermissionError(errno.EPERM, "Operation not permitted")
        real_killpg(group, signal_number)

    _replace(os, "killpg", killpg)


def _udp_9216() -> None:
    real_sendto = socket.socket.sendto

    def sendto(self: socket.socket, data: bytes, *args: Any) -> Any:
        if self.type == socket.SOCK_DGRAM and len(data) > MACOS_MAX_DATAGRAM:
            raise OSError(errno.EMSGSIZE, "Message too long")
        return real_sendto(self, data, *args)

    _replace(socket.socket, "sendto", sendto)


def _refused_connect_delay() -> None:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def delayed(sock: socket.socket) -> None:
        timeout = sock.gettimeout()
        if timeout is not None and timeout < WINDOWS_REFUSED_SECONDS:
            time.sleep(timeout)
            raise TimeoutError("timed out")
        time.sleep(WINDOWS_REFUSED_SECONDS)

    def connect(self: socket.socket, address: Any) -> None:
        try:
            real_connect(self, address)
        except ConnectionRefusedError:
            delayed(self)
            raise

    def connect_ex(self: socket.socket, address: Any) -> int:
        code = real_connect_ex(self, address)
        if code == errno.ECONNREFUSED:
            delayed(self)
        return code

    _replace(socket.socket, "connect", connect)
    _replace(socket.socket, "connect_ex", connect_ex)


def _nothing_bound_at(address: tuple[str, int]) -> bool:
    import _socket

    probe = _socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.bind(address)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def _udp_reset() -> None:
    real_sendto = socket.socket.sendto
    real_recv = socket.socket.recv
    real_recvfrom = socket.socket.recvfrom
    # Keyed by the socket itself: an id() is reused once a socket is gone, and a
    # later TCP socket of the same id must not inherit its resets.
    sent_to: weakref.WeakKeyDictionary[socket.socket, list[tuple[str, int]]] = (
        weakref.WeakKeyDictionary())

    def sendto(self: socket.socket, data: bytes, *args: Any) -> Any:
        sent = real_sendto(self, data, *args)
        address = args[-1]
        if self.type == socket.SOCK_DGRAM and isinstance(address, tuple):
            sent_to.setdefault(self, []).append((str(address[0]), int(address[1])))
        return sent

    def raise_if_refused(sock: socket.socket) -> None:
        for address in sent_to.pop(sock, []):
            if _nothing_bound_at(address):
                raise ConnectionResetError(
                    10054, "An existing connection was forcibly closed by the remote host")

    def recv(self: socket.socket, *args: Any) -> bytes:
        raise_if_refused(self)
        return real_recv(self, *args)

    def recvfrom(self: socket.socket, *args: Any) -> Any:
        raise_if_refused(self)
        return real_recvfrom(self, *args)

    _replace(socket.socket, "sendto", sendto)
    _replace(socket.socket, "recv", recv)
    _replace(socket.socket, "recvfrom", recvfrom)


PUT_ON = {
    "no-resource": _no_resource,
    "rlimit-as-refused": _rlimit_as_refused,
    "no-posix-signals": _no_posix_signals,
    "killpg-eperm-on-zombies": _killpg_eperm_on_zombies,
    "udp-9216": _udp_9216,
    "refused-connect-delay": _refused_connect_delay,
    "udp-reset": _udp_reset,
}

for _trait in sorted(TRAITS):
    if _trait not in PUT_ON:
        sys.exit(f"kit_traits: unknown trait {_trait!r}; known: {', '.join(PUT_ON)}")
    PUT_ON[_trait]()

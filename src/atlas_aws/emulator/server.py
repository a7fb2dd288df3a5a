"""moto's ``ThreadedMotoServer`` with the fidelity layer in front, on loopback."""

from __future__ import annotations

import ipaddress
import threading
from typing import Any

from atlas_aws.emulator.layer import Fidelity, FidelityConfig

__all__ = ["AwsEmulator", "shared_emulator"]


def _quiet_handler() -> type[Any]:
    from moto.moto_server.werkzeug_app import MotoRequestHandler  # noqa: PLC0415

    class Quiet(MotoRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            """Not a line per request on stderr."""

        def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
            """A dropped connection is one of the faults the layer makes on purpose."""

    return Quiet


class AwsEmulator:
    """moto in server mode behind :class:`Fidelity`, in a thread of this process.

    :param host: a loopback address, unless ``allow_remote``.
    :param port: 0 picks a free one (see :attr:`url`).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        config: FidelityConfig | None = None,
        *,
        allow_remote: bool = False,
    ) -> None:
        if not allow_remote and not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"{host} is not a loopback address (the emulator has no security)")
        self.host, self.port = host, port
        self.config = config or FidelityConfig()
        self.layer: Fidelity | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> AwsEmulator:
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer  # noqa: PLC0415
        from moto.moto_server.werkzeug_app import (  # noqa: PLC0415
            DomainDispatcherApplication,
            create_backend_app,
        )
        from werkzeug.serving import make_server  # noqa: PLC0415

        emulator = self

        class Layered(ThreadedMotoServer):
            """ThreadedMotoServer serving moto's app through the layer."""

            def _server_entry(self) -> None:
                emulator.layer = Fidelity(
                    DomainDispatcherApplication(create_backend_app), emulator.config
                )
                self._server = make_server(
                    self._ip_address, self._port, emulator.layer, True,
                    request_handler=_quiet_handler(),
                )  # fmt: skip
                self._server_ready_event.set()
                self._server.serve_forever()

        self._server = Layered(self.host, self.port, verbose=False)
        self._server.start()
        self.host, self.port = self._server.get_host_and_port()
        assert self.layer is not None
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


_SHARED: dict[FidelityConfig, AwsEmulator] = {}
_LOCK = threading.Lock()


def shared_emulator(config: FidelityConfig) -> AwsEmulator:
    """One emulator per configuration for the whole process: every sandbox is an account
    of its own in it (moto keeps accounts apart), so none needs a server of its own."""
    with _LOCK:
        if config not in _SHARED:
            _SHARED[config] = AwsEmulator(config=config).start()
        return _SHARED[config]

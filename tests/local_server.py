"""What every protocol fake in the tests shares: an HTTP server on a free port of 127.0.0.1 that
answers from threads of its own until stopped."""

import threading
from http.server import ThreadingHTTPServer


class LocalServer:
    """Base of a fake; its handler finds the fake as `self.server.<name>` given to `listen`."""

    def listen(self, handler, name):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        setattr(self.server, name, self)
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def root(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

"""Where the Elasticsearch cluster is and how to prove who we are, from the config and the environment.

One way in (``url``, several node ``urls`` or a ``cloud_id``) and at most one way to authenticate:
an API key, or a user name and password (basic auth), each read from the environment variable the
config names; a client certificate and key may come with either. Trust: the system's CAs, a CA
bundle (``ca_certs``) or the SHA-256 fingerprint of the CA (``ca_fingerprint``, for a cluster's own
self-signed CA). Credentials are kept out of ``repr`` and every message.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from typing import Any, Mapping

from monitor.errors import ConfigError


@dataclass(frozen=True)
class Connection:
    """Everything the client needs to reach the cluster; :meth:`client_options` builds its arguments."""

    hosts: tuple[str, ...] = ("http://127.0.0.1:9200",)
    cloud_id: str | None = None
    api_key: str | None = field(default=None, repr=False)
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)
    client_cert: str | None = None
    client_key: str | None = None
    ca_certs: str | None = None
    ca_fingerprint: str | None = None
    verify_certs: bool = True
    request_timeout: float = 30.0

    @property
    def where(self) -> str:
        """The cluster as messages name it (the URLs carry no credentials: the config refuses those)."""
        if self.cloud_id:
            return f"cloud deployment {self.cloud_id.partition(':')[0]!r}"
        return ", ".join(self.hosts)

    @property
    def tls(self) -> bool:
        return bool(self.cloud_id) or all(h.lower().startswith("https://") for h in self.hosts)

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for ``Elasticsearch(...)``."""
        options: dict[str, Any] = {"request_timeout": self.request_timeout, "retry_on_timeout": True,
                                   "max_retries": 3}
        if self.cloud_id:
            options["cloud_id"] = self.cloud_id
        else:
            options["hosts"] = list(self.hosts)
        if self.api_key:
            options["api_key"] = self.api_key
        if self.basic_auth:
            options["basic_auth"] = self.basic_auth
        asked = [name for name in ("ca_certs", "ca_fingerprint", "client_cert") if getattr(self, name)]
        if asked and not self.tls:
            raise ConfigError(f"{', '.join(asked)} need https URLs; {self.where} is not https")
        if self.tls:
            options.update(ssl_context=self.ssl_context(), verify_certs=self.verify_certs)
            if self.ca_fingerprint:
                options["ssl_assert_fingerprint"] = self.ca_fingerprint
        return options

    def ssl_context(self) -> ssl.SSLContext:
        """Trust (system CAs or ``ca_certs``) and the client certificate in one context.

        Built here because the client leaves the client certificate out when it pins a fingerprint.
        """
        files = [f for f in (self.ca_certs, self.client_cert, self.client_key) if f]
        try:
            context = ssl.create_default_context(cafile=self.ca_certs)
            if self.client_cert:
                context.load_cert_chain(self.client_cert, self.client_key)
        except OSError as exc:
            raise ConfigError(f"cannot load the TLS files {', '.join(files)}: {exc.strerror or exc}") from exc
        if self.ca_fingerprint or not self.verify_certs:  # the fingerprint is the trust: no chain check
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def _secret(environ: Mapping[str, str], name: str) -> str | None:
    return environ.get(name) or None


def connection_from_config(storage: Any, environ: Mapping[str, str] = os.environ) -> Connection:
    """The connection the Elasticsearch store's options describe, with its credentials from ``environ``."""
    api_key = _secret(environ, storage.api_key_env)
    username = _secret(environ, storage.username_env)
    password = _secret(environ, storage.password_env)
    if password and not username:
        raise ConfigError(f"{storage.password_env} is set but {storage.username_env} (the user name) is not")
    if username and not password:
        raise ConfigError(f"{storage.username_env} is set but {storage.password_env} (the password) is not")
    if api_key and password:
        raise ConfigError(f"both an API key ({storage.api_key_env}) and a password ({storage.password_env}) "
                          "are set; keep one")
    return Connection(
        hosts=tuple(storage.hosts),
        cloud_id=storage.cloud_id,
        api_key=api_key,
        basic_auth=(username, password) if username and password else None,
        client_cert=str(storage.client_cert) if storage.client_cert else None,
        client_key=str(storage.client_key) if storage.client_key else None,
        ca_certs=str(storage.ca_certs) if storage.ca_certs else None,
        ca_fingerprint=storage.ca_fingerprint,
        verify_certs=storage.verify_certs,
        request_timeout=storage.request_timeout,
    )

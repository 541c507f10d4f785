"""Configuration from the environment, validated once at start.

Every bad value becomes one sentence that says what to do next; the CLI prints
them all and exits with code 2 (never a traceback).
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

EXAMPLE_SHELTERS_FILE = (
    Path(__file__).resolve().parent / "shelters" / "data" / "shelters.example.yaml"
)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ConfigError(Exception):
    """One or more settings are wrong; `problems` holds one sentence each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


MIN_KEY_LENGTH = 16
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")


def key_bytes(text: str) -> bytes:
    """The key a text stands for: 64 hex digits are the bytes they spell, any
    other text its UTF-8 bytes."""
    text = text.strip()
    return bytes.fromhex(text) if _HEX_KEY.fullmatch(text) else text.encode()


def earlier_readings(text: str) -> list[bytes]:
    """How releases before 2026-12 read the same text in HELPLINE_SECRET_KEY: as
    UTF-8 even when it was hex. Accepted for reading, so that the change of
    format orphans no conversation."""
    text = text.strip()
    return [text.encode()] if _HEX_KEY.fullmatch(text) else []


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    data_dir: Path = Path(".helpline")
    flows_dir: Path = Path("flows")
    locales_dir: Path = Path("locales")
    shelters_file: Path = EXAMPLE_SHELTERS_FILE
    secret_key: bytes | None = None
    # HELPLINE_OLD_SECRET_KEYS, and the earlier reading of a hex HELPLINE_SECRET_KEY
    old_secret_keys: tuple[bytes, ...] = ()
    retention_days: int = 30
    reply_window_hours: int = 24  # a counsellor may write only this long after her last message
    redis_url: str | None = None
    metrics_token: str | None = None  # HELPLINE_METRICS_TOKEN: /metrics needs it as a bearer
    log_format: str = "text"  # HELPLINE_LOG_FORMAT: text or json
    # HELPLINE_TRUSTED_PROXIES: whose X-Forwarded-For names the client (bot.channels.clients)
    trusted_proxies: tuple[Network, ...] = ()
    # The channels' own variables (TELEGRAM_BOT_TOKEN, TWILIO_...), by name, as
    # set in the environment; each channel declares them in bot.channels.REGISTRY.
    channel_env: Mapping[str, str] = field(default_factory=dict)
    processes: int = 1  # HELPLINE_PROCESSES: `helpline run` serves from this many processes
    process_index: int = 0  # which of them this is (set by the first process for the others)
    # Not in the environment: a send's tries and the first pause between them
    # (doubling), shortened by tests.
    send_attempts: int = 6
    send_backoff_s: float = 0.5
    # Not in the environment: the web chat's flood limits (bot.channels.web), off
    # only for load tests that play many people from one address.
    web_chat_limits: bool = True

    @property
    def retention_seconds(self) -> int:
        return self.retention_days * 86400

    @property
    def uses_example_shelters(self) -> bool:
        return self.shelters_file.resolve() == EXAMPLE_SHELTERS_FILE

    def with_secret(self) -> Settings:
        """Return settings whose secret key is set: from the environment, else the
        data dir's key file, created once with 32 random bytes."""
        if self.secret_key:
            return self
        key_file = self.data_dir / "secret.key"
        if key_file.exists():
            key = key_bytes(key_file.read_text())
        else:
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            key = secrets.token_bytes(32)
            tmp = key_file.with_suffix(".tmp")
            tmp.unlink(missing_ok=True)
            # created owner-only: no moment when another user could read it
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(key.hex())
            tmp.replace(key_file)
        return replace(self, secret_key=key)


def parse_networks(value: str) -> tuple[list[Network], list[str]]:
    """CIDRs (or single addresses) separated by commas; the bad entries apart."""
    networks: list[Network] = []
    bad: list[str] = []
    for entry in (e.strip() for e in value.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            bad.append(entry)
    return networks, bad


def _port(value: str, problems: list[str]) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        problems.append(
            f"HELPLINE_PORT={value!r} is not a port number: use a whole number from 1 to 65535, e.g. 8080."
        )
        return 8080
    return port


def _host(value: str, problems: list[str]) -> str:
    if not value:
        problems.append("HELPLINE_HOST is empty: set an address such as 127.0.0.1 or 0.0.0.0.")
        return "127.0.0.1"
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if not all(part.isalnum() or "-" in part for part in value.split(".")):
            problems.append(
                f"HELPLINE_HOST={value!r} is neither an IP address nor a host name: use e.g. 127.0.0.1 or 0.0.0.0."
            )
    return value


def _url(name: str, value: str, schemes: tuple[str, ...], problems: list[str]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or (not parts.netloc and parts.scheme != "unix"):
        problems.append(
            f"{name}={value!r} is not a valid URL: it must start with {' or '.join(s + '://' for s in schemes)}."
        )
    return value.rstrip("/") if name != "REDIS_URL" else value


def _redis_url(value: str, problems: list[str]) -> str:
    parts = urlsplit(value)
    ok = (parts.scheme in ("redis", "rediss") and parts.hostname) or (
        parts.scheme == "unix" and parts.path
    )
    if ok and parts.scheme != "unix":
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            ok = False
    if not ok:
        problems.append(
            f"REDIS_URL={value!r} is malformed: use redis://host:6379/0, rediss://host:6380/0 "
            "or unix:///path/to/redis.sock, or unset it to use the embedded Redis."
        )
    return value


SENTINEL_SCHEME = "redis+sentinel"  # how a Sentinel group travels as `redis_url`


def _sentinel_url(sentinels: str | None, master: str | None, problems: list[str]) -> str:
    """REDIS_SENTINELS and REDIS_SENTINEL_MASTER as one address for `open_redis`:
    redis+sentinel://host:port,host:port/primary-name."""
    addresses = [part.strip() for part in (sentinels or "").split(",") if part.strip()]
    for address in addresses:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            problems.append(
                f"REDIS_SENTINELS has {address!r}: each Sentinel is host:port "
                "(e.g. sentinel-1:26379,sentinel-2:26379,sentinel-3:26379)."
            )
    if not addresses:
        problems.append(
            "REDIS_SENTINELS is empty: list the Sentinels as host:port,... "
            "(e.g. sentinel-1:26379,sentinel-2:26379,sentinel-3:26379)."
        )
    if not master or not master.strip() or "/" in master:
        problems.append(
            "REDIS_SENTINEL_MASTER must name the primary the Sentinels monitor "
            "(the name in their `sentinel monitor NAME ...` line, e.g. mymaster)."
        )
    return f"{SENTINEL_SCHEME}://{','.join(addresses)}/{(master or '').strip()}"


def _readable_dir(name: str, value: str, problems: list[str]) -> Path:
    path = Path(value)
    if not path.is_dir():
        problems.append(f"{name}={value!r} is not a directory: create it or point {name} to one.")
    elif not os.access(path, os.R_OK | os.X_OK):
        problems.append(f"{name}={value!r} cannot be read: check its permissions.")
    return path


@dataclass(frozen=True)
class Variable:
    """One environment variable a channel reads: its default, and a check that
    returns the value to keep and appends a sentence to `problems` if it is bad."""

    name: str
    default: str | None = None
    check: Callable[[str, str, list[str]], str] | None = None


class ChannelNeeds(Protocol):
    """What configuration reads of a channel's registry line (bot.channels.ChannelInfo)."""

    @property
    def label(self) -> str: ...

    @property
    def variables(self) -> tuple[Variable, ...]: ...

    @property
    def requires(self) -> tuple[str, ...]: ...  # all set: the channel is on

    @property
    def switched_on_by(self) -> tuple[str, ...]: ...  # any set: it is wanted

    @property
    def public_url(self) -> str | None: ...  # why it needs HELPLINE_PUBLIC_URL, if it does


def web_url(name: str, value: str, problems: list[str]) -> str:
    """Check for a channel's http(s) URL variable, kept without its trailing slash."""
    return _url(name, value, ("http", "https"), problems)


def _channel_env(
    get: Callable[[str], str | None], channels: Iterable[ChannelNeeds], problems: list[str]
) -> dict[str, str]:
    env: dict[str, str] = {}
    read: set[str] = set()  # a variable two channels share is checked once
    wanted: set[str] = set()  # read by a channel that is asked for
    channels = list(channels)
    for channel in channels:
        for variable in channel.variables:
            if variable.name in read:
                continue
            read.add(variable.name)
            value = get(variable.name)
            if value is not None and variable.check is not None:
                value = variable.check(variable.name, value, problems)
            if value is not None:
                env[variable.name] = value
        if not any(get(name) for name in channel.switched_on_by):
            continue
        wanted.update(v.name for v in channel.variables)
        if missing := [name for name in channel.requires if not get(name)]:
            problems.append(
                f"The {channel.label} channel needs {', '.join(channel.requires)}: "
                f"also set {', '.join(missing)}."
            )
        elif channel.public_url and not get("HELPLINE_PUBLIC_URL"):
            problems.append(
                f"The {channel.label} channel needs HELPLINE_PUBLIC_URL: {channel.public_url}."
            )
    # A credential set for channels none of which is asked for (TWILIO_ACCOUNT_SID
    # without a sender): say which variable would switch one on.
    for name in dict.fromkeys(n for c in channels for n in c.requires):
        if get(name) and name not in wanted:
            switches = [
                f"{', '.join(c.switched_on_by)} ({c.label})"
                for c in channels
                if name in c.requires and not set(c.switched_on_by) & {name}
            ]
            problems.append(
                f"{name} is set, but no channel that needs it is switched on: "
                f"also set {' or '.join(switches)}."
            )
    return env


def load_settings(
    environ: Mapping[str, str] | None = None, channels: Iterable[ChannelNeeds] = ()
) -> Settings:
    """Read and validate every variable of SPEC.md, the channels' included (each
    of `channels` declares its own); raise ConfigError listing all problems."""
    env = os.environ if environ is None else environ
    problems: list[str] = []

    def get(name: str) -> str | None:
        value = env.get(name)
        return value.strip() if value is not None and value.strip() != "" else None

    kwargs: dict = {}
    if (v := get("HELPLINE_HOST")) is not None:
        kwargs["host"] = _host(v, problems)
    if (v := get("HELPLINE_PORT")) is not None:
        kwargs["port"] = _port(v, problems)
    if (v := get("HELPLINE_PUBLIC_URL")) is not None:
        kwargs["public_url"] = _url("HELPLINE_PUBLIC_URL", v, ("http", "https"), problems)
    kwargs["data_dir"] = Path(get("HELPLINE_DATA_DIR") or ".helpline")
    if kwargs["data_dir"].exists() and not kwargs["data_dir"].is_dir():
        problems.append(
            f"HELPLINE_DATA_DIR={str(kwargs['data_dir'])!r} is a file: point it to a directory."
        )
    kwargs["flows_dir"] = _readable_dir(
        "HELPLINE_FLOWS_DIR", get("HELPLINE_FLOWS_DIR") or "flows", problems
    )
    kwargs["locales_dir"] = _readable_dir(
        "HELPLINE_LOCALES_DIR", get("HELPLINE_LOCALES_DIR") or "locales", problems
    )
    if (v := get("HELPLINE_SHELTERS_FILE")) is not None:
        path = Path(v)
        if not path.is_file() or not os.access(path, os.R_OK):
            problems.append(
                f"HELPLINE_SHELTERS_FILE={v!r} is not a readable file: point it to a YAML or CSV directory file."
            )
        elif path.suffix.lower() not in (".yaml", ".yml", ".csv"):
            problems.append(f"HELPLINE_SHELTERS_FILE={v!r} must end in .yaml, .yml or .csv.")
        kwargs["shelters_file"] = path
    old: list[bytes] = []
    if (v := get("HELPLINE_SECRET_KEY")) is not None:
        if len(v) < MIN_KEY_LENGTH:
            problems.append(
                "HELPLINE_SECRET_KEY is too short: use at least 16 characters (32 random bytes as hex is best)."
            )
        kwargs["secret_key"] = key_bytes(v)
        old += earlier_readings(v)
    if (v := get("HELPLINE_OLD_SECRET_KEYS")) is not None:
        texts = [t.strip() for t in v.split(",") if t.strip()]
        if any(len(t) < MIN_KEY_LENGTH for t in texts):
            problems.append(
                "HELPLINE_OLD_SECRET_KEYS: every previous key, separated by commas, has at least 16 characters."
            )
        for text in texts:
            old += [key_bytes(text), *earlier_readings(text)]
    kwargs["old_secret_keys"] = tuple(dict.fromkeys(old))
    if (v := get("HELPLINE_RETENTION_DAYS")) is not None:
        try:
            days = int(v)
            if days < 1:
                raise ValueError
            kwargs["retention_days"] = days
        except ValueError:
            problems.append(
                f"HELPLINE_RETENTION_DAYS={v!r} must be a whole number of days, 1 or more."
            )
    for name, key, unit, highest, meaning in (
        (
            "HELPLINE_REPLY_WINDOW_HOURS",
            "reply_window_hours",
            "of hours ",
            720,
            "how long after her last message a counsellor may still write to her (24 is usual)",
        ),
        (
            "HELPLINE_PROCESSES",
            "processes",
            "",
            64,
            "how many processes serve (one per CPU core is a good start)",
        ),
    ):
        if (v := get(name)) is None:
            continue
        if v.isdigit() and 1 <= int(v) <= highest:
            kwargs[key] = int(v)
        else:
            problems.append(
                f"{name}={v!r} must be a whole number {unit}from 1 to {highest}: {meaning}."
            )
    if (v := get("HELPLINE_PROCESS_INDEX")) is not None and v.isdigit():
        kwargs["process_index"] = int(v)
    if (v := get("REDIS_URL")) is not None:
        kwargs["redis_url"] = _redis_url(v, problems)
    sentinels, master = get("REDIS_SENTINELS"), get("REDIS_SENTINEL_MASTER")
    if sentinels is not None or master is not None:  # instead of REDIS_URL, if both are set
        kwargs["redis_url"] = _sentinel_url(sentinels, master, problems)
    if (v := get("HELPLINE_METRICS_TOKEN")) is not None:
        if len(v) < 16 or not v.isascii() or not v.isprintable() or " " in v:
            problems.append(
                "HELPLINE_METRICS_TOKEN must be at least 16 printable ASCII characters without "
                "spaces: e.g. the output of `openssl rand -hex 24`."
            )
        kwargs["metrics_token"] = v
    if (v := get("HELPLINE_LOG_FORMAT")) is not None:
        if v not in ("text", "json"):
            problems.append(f"HELPLINE_LOG_FORMAT={v!r} must be `text` or `json`.")
        else:
            kwargs["log_format"] = v
    if (v := get("HELPLINE_TRUSTED_PROXIES")) is not None:
        networks, bad = parse_networks(v)
        if bad:
            problems.append(
                f"HELPLINE_TRUSTED_PROXIES has {', '.join(map(repr, bad))}, which "
                f"{'is not an address or CIDR' if len(bad) == 1 else 'are not addresses or CIDRs'}: "
                "list your reverse proxies' addresses, e.g. 10.0.0.0/8,192.168.1.5."
            )
        kwargs["trusted_proxies"] = tuple(networks)
    kwargs["channel_env"] = _channel_env(get, channels, problems)
    if problems:
        raise ConfigError(problems)
    return Settings(**kwargs)

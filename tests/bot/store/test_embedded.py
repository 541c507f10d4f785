"""The embedded Redis keeps her messages in its append-only file: owner-only on disk."""

from __future__ import annotations

import stat
import time

import redis

from bot.config import Settings
from bot.store.embedded import EmbeddedRedis


def test_the_data_dir_and_every_file_in_it_are_owner_only(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)  # made by hand, too open
    data.chmod(0o755)
    Settings(data_dir=data).with_secret()
    with EmbeddedRedis(data) as server:
        client = redis.Redis(unix_socket_path=str(server.socket_path))
        client.set("hl:probe", "her words")
        client.bgrewriteaof()
        time.sleep(0.5)
        client.close()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = [path for path in data.rglob("*") if path.is_file()]
    assert {path.name for path in files} >= {"secret.key", "redis.log"}
    # Redis 6 writes appendonly.aof; Valkey 8 (Redis 7+) the parts of appendonlydir/
    assert any(".aof" in path.name for path in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    for folder in (path for path in data.rglob("*") if path.is_dir()):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder.name
